// The real StreamServer session state machine, over loopback TCP, on the real EventLoop.
//
// Once per process: an EventLoop and a StreamServer (mode upper, exit word "exit", no
// shutdown word) on 127.83.69.67:0. Per input: one client connects, sends the payload in the
// input's chunks (fuzz_util.h's layout), and the loop runs - client I/O is non-blocking on
// the same loop - until the server has answered and the connection is over. Flags:
//   bit 0  half-close (SHUT_WR) after the last chunk instead of close()
//   bit 1  after the exit word, keep sending the rest (the server is lingering: discards it)
//   bit 2  pipeline: send each chunk without waiting for the previous one's reply
//   bit 3  end with a RST (SO_LINGER 0) instead of a FIN
//   bit 4  expand the payload (fuzz_util.h's k_expand)
// Checks: what the client got is always a prefix of the upper-cased payload; the session
// always ends (the server reports CLOSED) within a per-input deadline; unless the client
// reset the connection, the server never does (it lingers after the exit word). When each chunk
// was one read of the server (not pipelined; the server's read count confirms it), the
// reply is exactly the model's (word_model.h): the upper-cased payload up to the exit
// word's line, then EOF from the server, CLOSED with reason exit-word; without the exit
// word, all of it, and reason eof. When pipelined, the reply ends somewhere the exit word
// could cut it (word_model.h's bounds).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_util.h"
#include "net/event_loop.h"
#include "net/fd.h"
#include "net/socket.h"
#include "net/stream_server.h"
#include "net/sys.h"
#include "cmd/net_report.h"
#include "report/event.h"
#include "word_model.h"

using namespace sockecho;
using namespace std::chrono_literals;
using fuzz::check;
using fuzz::fail;
namespace model = fuzz::model;

namespace {

constexpr auto k_deadline = 5s;  // per input; loopback answers in microseconds
// Each chunk is a round trip through the loop; more than this many is slow, not new.
constexpr std::size_t k_max_chunks = 48;
constexpr std::uint8_t k_half_close = 1, k_continue = 2, k_pipeline = 4, k_reset = 8;

class Harness final : public net::EventLoop::Handler {
 public:
  Harness() : m_rx(net::StreamServer::k_read_size) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    // A loopback address of its own, out of the way of scans of 127.0.0.1.
    sin.sin_addr.s_addr = htonl(0x7f534543);  // 127.83.69.67
    sin.sin_port = 0;
    auto listener = std::make_shared<net::Fd>(net::open_listener(
        net::Address(reinterpret_cast<const sockaddr*>(&sin), sizeof sin),
        net::SockType::stream, net::ListenOptions{}));
    m_address = net::Address::local_of(listener->get());
    net::ServiceOptions o;
    o.mode = net::Mode::upper;
    o.exit_word = "exit";
    o.shutdown_word = "";
    o.report_connections = true;
    m_server = std::make_unique<net::StreamServer>(
        m_loop, std::move(listener), 128, std::move(o),
        [this](const net::ServiceEvent& e) { on_event(cmd::to_report(e)); });
    m_server->start();
  }

  void run(const std::uint8_t* data, std::size_t size);

  void on_events(std::uint32_t) override {
    if (!m_client) return;
    for (;;) {
      ssize_t n = ::recv(m_client.get(), m_rx.data(), m_rx.size(), MSG_DONTWAIT);
      if (n > 0) {
        m_got.append(m_rx.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0) m_eof = true;
      else m_error = errno;
      unwatch();
      break;
    }
    maybe_stop();
  }

 private:
  // Only our client's session counts: other programs on this machine (port scanners,
  // tests probing loopback) may connect to the listener too.
  void on_event(const report::Event& e) {
    if (const auto* est = std::get_if<report::Established>(&e)) {
      if (est->socket.remote == m_client_name) m_log += " ESTABLISHED";
    } else if (const auto* c = std::get_if<report::Closed>(&e)) {
      if (c->socket.remote != m_client_name) return;
      m_log += " CLOSED(" + c->reason + ")";
      ++m_closed;
      m_reason = c->reason;
      maybe_stop();
    }
  }

  void maybe_stop() {
    if (m_until && m_until()) m_loop.stop();
  }

  // Runs the loop until cond holds; fails the input at the deadline.
  void pump(const std::function<bool()>& cond, const char* what) {
    if (cond()) return;
    m_until = cond;
    bool late = false;
    auto timer = m_loop.add_timer(m_deadline, [&] {
      late = true;
      m_loop.stop();
    });
    m_loop.run();
    m_loop.cancel_timer(timer);
    m_until = nullptr;
    if (late)
      fail(std::string("no progress within the deadline while waiting for ") + what +
               " (client got " + std::to_string(m_got.size()) + " bytes, eof=" +
               std::to_string(m_eof) + ", error=" + std::to_string(m_error) +
               ", server CLOSED events this input=" + std::to_string(m_closed - m_closed_before) +
               ")",
           m_input);
  }

  // Sends all of data; false when the connection is gone (EPIPE, ECONNRESET).
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(m_client.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // Let the server drain us: run the loop for a moment.
        auto now = net::EventLoop::Clock::now();
        if (now > m_deadline) pump([] { return false; }, "room in the client's send buffer");
        auto t = m_loop.add_timer(1ms, [this] { m_loop.stop(); });
        m_loop.run();
        m_loop.cancel_timer(t);
        continue;
      }
      m_error = errno;
      return false;
    }
    return true;
  }

  void connect_client() {
    net::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) fail(std::string("socket: ") + std::strerror(errno), m_input);
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Blocking: on loopback the kernel completes the handshake before the server accepts.
    // A signal (libFuzzer's timers) may interrupt it; the connect goes on in the kernel, so
    // wait for it to finish instead of failing the input.
    net::SysResult c = net::sys::connect(fd.get(), m_address.get(), m_address.size());
    if (!c.ok() && c.error == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (net::sys::poll(&p, 1, 5000).value != 1) c.error = ETIMEDOUT;
      else c.error = net::pending_error(fd.get());
    }
    if (c.error != 0) fail(std::string("connect: ") + std::strerror(c.error), m_input);
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&me), &len);
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
    m_client_name = std::string(ip) + ":" + std::to_string(ntohs(me.sin_port));
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    m_client = std::move(fd);
    m_loop.add(m_client.get(), EPOLLIN, this);
    m_watching = true;
  }

  void unwatch() {
    if (m_watching) m_loop.remove(m_client.get());
    m_watching = false;
  }

  void close_client(bool reset) {
    unwatch();
    if (reset) {
      linger l{1, 0};
      ::setsockopt(m_client.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    m_client.reset();
  }

  bool server_closed() const { return m_closed > m_closed_before; }

  // One turn of the loop without waiting: the server handles what has arrived.
  void poll_once() {
    auto t = m_loop.add_timer(net::EventLoop::Clock::now(), [this] { m_loop.stop(); });
    m_loop.run();
    m_loop.cancel_timer(t);
  }

  // A RST the client has not read yet (we stop watching its fd after EOF).
  void note_pending_error() {
    if (m_error != 0 || !m_client) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(m_client.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
      m_error = err;
  }

  net::EventLoop m_loop;
  std::unique_ptr<net::StreamServer> m_server;
  net::Address m_address;

  // Per input.
  std::string_view m_input;
  net::EventLoop::TimePoint m_deadline;
  net::Fd m_client;
  bool m_watching = false;
  std::vector<char> m_rx;
  std::string m_got;
  bool m_eof = false;
  int m_error = 0;
  std::uint64_t m_closed = 0;
  std::uint64_t m_closed_before = 0;
  std::string m_reason;
  std::function<bool()> m_until;
  std::string m_client_name;  // "ip:port" of the client, as the server's events name it
  std::string m_log;          // the server's events for it, for failure messages
};

void Harness::run(const std::uint8_t* data, std::size_t size) {
  m_input = std::string_view(reinterpret_cast<const char*>(data), size);
  fuzz::Chunked c = fuzz::split_chunks(data, size, k_max_chunks);
  const std::string_view payload = c.payload;
  const std::string want_all = model::upper(payload);
  const model::Scan want = model::scan(payload, c.sizes, "exit", "");
  const bool pipelined = c.flags & k_pipeline;
  const bool reset = c.flags & k_reset;

  m_deadline = net::EventLoop::Clock::now() + k_deadline;
  m_got.clear();
  m_eof = false;
  m_error = 0;
  m_reason.clear();
  m_log.clear();
  m_closed_before = m_closed;
  const std::uint64_t reads_before = m_server->stats().messages;

  connect_client();
  bool gone = false;  // a send failed: the server reset us
  if (pipelined) {
    // Each chunk goes out as soon as the server has had one look at the previous one,
    // replies unread: so chunks after the exit word reach a lingering server.
    std::size_t at = 0;
    for (std::size_t i = 0; i < c.sizes.size() && !gone; ++i) {
      gone = !send_all(payload.substr(at, c.sizes[i]));
      at += c.sizes[i];
      poll_once();
    }
    if (!reset && !gone)
      pump([&] { return m_got.size() >= payload.size() || m_eof || m_error; }, "the replies");
  } else {
    std::size_t at = 0;
    for (std::size_t i = 0; i < c.sizes.size(); ++i) {
      bool after_word = want.hit != model::Hit::none && i > want.hit_chunk;
      if (after_word && !(c.flags & k_continue)) break;
      if (!send_all(payload.substr(at, c.sizes[i]))) {
        gone = true;
        break;
      }
      at += c.sizes[i];
      if (after_word) {  // the server discards it (lingering): no reply, and no RST
        poll_once();
        note_pending_error();
        continue;
      }
      bool hit_here = want.hit != model::Hit::none && i == want.hit_chunk;
      if (hit_here)
        pump([&] { return m_eof || m_error; }, "EOF after the exit word");
      else
        pump([&] { return m_got.size() >= at || m_eof || m_error; }, "a chunk's reply");
    }
  }

  // End the connection and wait for the server to report it closed.
  if (reset) {
    close_client(true);
    pump([&] { return server_closed(); }, "CLOSED after the client's RST");
  } else if (c.flags & k_half_close) {
    if (!gone) ::shutdown(m_client.get(), SHUT_WR);
    pump([&] { return (m_eof || m_error) && server_closed(); }, "EOF and CLOSED after half-close");
    note_pending_error();
    close_client(false);
  } else {
    note_pending_error();
    close_client(false);
    pump([&] { return server_closed(); }, "CLOSED after the client's close");
  }
  const std::uint64_t reads = m_server->stats().messages - reads_before;

  check(m_closed - m_closed_before == 1,
        "server reported " + std::to_string(m_closed - m_closed_before) +
            " CLOSED events for one connection (client " + m_client_name + "):" + m_log,
        m_input);
  check(m_got.size() <= want_all.size() && std::string_view(want_all).substr(0, m_got.size()) == m_got,
        "the reply is not a prefix of the upper-cased input: got " + fuzz::quoted(m_got, 120),
        m_input);
  if (reset) return;  // we tore the connection down: no more to say
  // The server never resets a client that did not reset it: it answers up to the exit word
  // and then reads and discards (lingers) until the client closes.
  check(m_error == 0 && !gone,
        std::string("the client's connection was reset (") + std::strerror(m_error) + " on " +
            (gone ? "send" : "recv") + "; server reason '" + m_reason + "')",
        m_input);

  const bool hit = m_reason == "exit-word";
  const std::size_t want_reads = want.hit != model::Hit::none ? want.hit_chunk + 1 : c.sizes.size();
  if (!pipelined && reads == want_reads) {
    // Each chunk was one read: the model is exact.
    std::string_view want_reply = std::string_view(want_all).substr(0, want.kept_total);
    if (m_got != want_reply)
      fail("reply differs from the model: got " + std::to_string(m_got.size()) +
               " bytes, expected " + std::to_string(want_reply.size()) +
               " (model hit=" + model::hit_name(want.hit) + " in chunk " +
               std::to_string(want.hit_chunk) + ", server reason " + m_reason + "); got " +
               fuzz::quoted(m_got, 120),
           m_input);
    check(hit == (want.hit == model::Hit::exit_word),
          "server closed with reason '" + m_reason + "', the model says hit=" +
              model::hit_name(want.hit),
          m_input);
    check(hit || m_reason == "eof", "server closed with reason '" + m_reason + "', expected eof",
          m_input);
    check(m_eof == (hit || (c.flags & k_half_close)),
          std::string("client ") + (m_eof ? "saw" : "did not see") + " EOF", m_input);
    return;
  }

  // Reads unknown: the reply must end where some read boundary could make the exit word cut.
  model::Bounds b = model::bounds(payload, "exit");
  if (hit) {
    check(b.first_possible != std::string_view::npos,
          "server saw the exit word where no line or read can be it", m_input);
    check(m_got.size() >= b.first_possible &&
              (b.first_certain_end == std::string_view::npos || m_got.size() < b.first_certain_end),
          "reply of " + std::to_string(m_got.size()) + " bytes is cut outside [" +
              std::to_string(b.first_possible) + ", " + std::to_string(b.first_certain_end) + ")",
          m_input);
    check(m_eof, "no EOF after the exit word", m_input);
  } else {
    check(b.first_certain_end == std::string_view::npos,
          "server missed an exit word line (reason '" + m_reason + "')", m_input);
    check(m_got.size() == payload.size(),
          "reply of " + std::to_string(m_got.size()) + " bytes, expected all " +
              std::to_string(payload.size()),
          m_input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* harness = new Harness();
  harness->run(data, size);
  return 0;
}
