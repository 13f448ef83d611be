#pragma once

// What the stream server and the datagram service share: their options, the facts they
// report (typed values: the words and columns users see are chosen above net/),
// and the buffer pool that keeps idle clients free of buffers.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/access_list.h"
#include "net/address.h"
#include "net/direction.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "net/transform.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {

enum class Proto { tcp, udp, unix_stream, unix_datagram };
Proto protocol_of(SockType type, bool unix_domain);

// Who is at the other end: an address, and for a Unix stream client, its process.
struct Peer {
  Address address;  // empty for a listener, or a Unix client that did not bind
  std::optional<Credentials> credentials;
};

// One socket at the moment of an event: what netstat's columns are made of.
struct SocketInfo {
  Proto proto = Proto::tcp;
  Address local;
  Peer remote;
  std::uint32_t recv_q = 0;  // bytes the kernel holds unread (SIOCINQ)
  std::uint32_t send_q = 0;  // bytes not yet acknowledged (SIOCOUTQ); 0 for a Unix socket
};

// Reads the kernel's queue sizes for fd now (Send-Q: TCP and UDP only; see service.cc).
SocketInfo socket_info(Proto proto, int fd, const Address& local, const Peer& remote);

// Why a client's connection ended. `error` and `reset` come with an errno.
enum class CloseReason {
  eof,            // the client closed (after its replies were sent)
  exit_word,      // the client said the exit word
  shutdown_word,  // the client said the shutdown word
  idle,           // --idle-timeout
  shutdown,       // the server is stopping (SIGINT/SIGTERM)
  reset,          // the client reset the connection
  tls,            // the TLS handshake failed or timed out, or TLS failed later
  timeout,        // a client gave up waiting (send's drain timeout)
  error,          // any other failure of a call made for this client
};

enum class RefuseReason {
  denied,       // --allow/--deny
  max_clients,  // --max-clients
  error,        // accepting it failed (EMFILE and the like): closed at once
};

struct ListenEvent {
  SocketInfo socket;
  int backlog = 0;  // 0 for a datagram socket
  std::optional<Fingerprint> sha256;  // the certificate served, under TLS
};

struct AcceptEvent {
  SocketInfo socket;
  std::optional<TcpStats> tcp;  // with report_messages, for TCP
  std::optional<TlsSession> tls;  // what the handshake agreed, under TLS
};

struct CloseEvent {
  SocketInfo socket;
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  double seconds = 0;
  CloseReason reason = CloseReason::eof;
  int error = 0;  // errno behind reason error, reset or tls; 0 when none
  std::optional<TcpStats> tcp;
  std::string detail;  // with reason tls: OpenSSL's reason ("wrong version number")
};

struct RefuseEvent {
  SocketInfo socket;
  RefuseReason reason = RefuseReason::denied;
  int error = 0;  // errno behind reason error
};

// One message (a line of a stream read, or a datagram), for -v. The bytes are exact:
// what is shown without the padding (strip_padding) is the reporter's choice.
struct MessageEvent {
  Proto proto = Proto::tcp;
  Address local;
  Peer peer;
  std::string data;   // as received: a line with its newline, or the whole datagram
  std::string reply;  // as sent back for it; empty in discard mode
};

// One chunk read from or written to a client (a stream read or write, a datagram), for
// -x/--hexdump: reported only with ServiceOptions::report_data.
struct DataEvent {
  Peer peer;
  Direction direction = Direction::received;
  std::string bytes;  // as read or written: before the transform, after it
};

using ServiceEvent =
    std::variant<ListenEvent, AcceptEvent, CloseEvent, RefuseEvent, MessageEvent, DataEvent>;
using EventSink = std::function<void(const ServiceEvent&)>;

struct ServiceStats {
  std::uint64_t clients = 0;
  std::uint64_t refused = 0;
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  std::uint64_t messages = 0;
  std::uint64_t errors = 0;
  double seconds = 0;

  ServiceStats& operator+=(const ServiceStats& other);
};

struct ServiceOptions {
  Mode mode = Mode::upper;
  std::string exit_word = "exit";
  std::string shutdown_word;  // empty: the network cannot stop the server
  std::size_t max_clients = 0;  // 0: no cap
  std::optional<std::chrono::milliseconds> idle_timeout;
  bool once = false;
  bool report_connections = true;  // LISTEN/ESTABLISHED/CLOSED/REFUSED events
  bool report_messages = false;    // one MessageEvent per line (-v)
  bool report_data = false;        // one DataEvent per chunk read or written (-x)
  Proto proto = Proto::tcp;
  AccessList access;               // --allow / --deny, checked at accept and per datagram
  // Under --tls: every client's stream is a TlsStream of this context, and must finish
  // its handshake within handshake_timeout.
  std::shared_ptr<const TlsContext> tls;
  std::chrono::milliseconds handshake_timeout{10'000};
  // With several threads: the clients of all of them, for max_clients (null: this one's).
  std::shared_ptr<std::atomic<std::size_t>> shared_clients;
  // Called when a client sends the shutdown word (null: stop this service only). With
  // several threads it stops them all.
  std::function<void()> on_shutdown_word;
};

// What a runner does with any service, stream or datagram, on the loop it was made for.
class Service {
 public:
  virtual ~Service() = default;
  virtual void start() = 0;     // report LISTEN, begin serving
  virtual void shutdown() = 0;  // stop taking clients, finish, then stop the loop
  virtual ServiceStats stats() const = 0;
};

// Calls fn(line) for each line of data (a trailing piece without newline counts as one),
// the way -v shows messages.
void for_each_line(std::string_view data, const std::function<void(std::string_view)>& fn);

// A small free list of fixed-size buffers: a client gets one only while it has unsent
// replies, so idle connections cost no buffer memory. take() throws std::bad_alloc when
// memory runs out: that is one client's failure, not the service's.
class BufferPool {
 public:
  explicit BufferPool(std::size_t buffer_size) : m_size(buffer_size) {}
  std::vector<char> take();
  void give(std::vector<char>&& buffer);

 private:
  std::size_t m_size;
  std::vector<std::vector<char>> m_free;
};

}  // namespace sockecho::net
