#pragma once

// What the stream server and the datagram service share: their options, the sink their
// events go to, and the buffer pool that keeps idle clients free of buffers.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/access_list.h"
#include "net/address.h"
#include "net/resolver.h"
#include "net/transform.h"
#include "report/event.h"

namespace sockecho::net {

struct ServiceOptions {
  Mode mode = Mode::upper;
  std::string exit_word = "exit";
  std::string shutdown_word;  // empty: the network cannot stop the server
  std::size_t max_clients = 0;  // 0: no cap
  std::optional<std::chrono::milliseconds> idle_timeout;
  bool once = false;
  bool report_connections = true;  // LISTEN/ESTABLISHED/CLOSED/REFUSED events
  bool report_messages = false;    // one Message event per line (-v)
  std::string proto = "tcp";       // the word events carry: tcp, udp, unix, unixdg
  AccessList access;               // --allow / --deny, checked at accept and per datagram
  // With several threads: the clients of all of them, for max_clients (null: this one's).
  std::shared_ptr<std::atomic<std::size_t>> shared_clients;
  // Called when a client sends the shutdown word (null: stop this service only). With
  // several threads it stops them all.
  std::function<void()> on_shutdown_word;
};

using EventSink = std::function<void(const report::Event&)>;

// What a runner does with any service, stream or datagram, on the loop it was made for.
class Service {
 public:
  virtual ~Service() = default;
  virtual void start() = 0;     // report LISTEN, begin serving
  virtual void shutdown() = 0;  // stop taking clients, finish, then stop the loop
  virtual report::Summary summary() const = 0;
};

// The word in the Proto column: tcp, udp, unix (stream) or unixdg (datagram).
std::string protocol_name(SockType type, bool unix_domain);

// The netstat columns of a socket, with the kernel's queue sizes at this moment.
report::Socket describe_socket(const std::string& proto, int fd, const Address& local,
                               const std::string& remote);

// TCP_INFO as the report shows it; nullopt for non-TCP sockets.
std::optional<report::TcpInfo> tcp_info_report(int fd);

// Calls fn(line) for each line of data (a trailing piece without newline counts as one),
// the way -v shows messages.
void for_each_line(std::string_view data, const std::function<void(std::string_view)>& fn);

// A small free list of fixed-size buffers: a client gets one only while it has unsent
// replies, so idle connections cost no buffer memory.
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
