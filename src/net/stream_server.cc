#include "net/stream_server.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "net/socket.h"
#include "net/sys.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

using namespace std::chrono_literals;

// After our FIN, how long a client may keep sending before we close regardless. Closing
// with unread input would send a RST that can destroy replies the client has not read.
constexpr auto k_linger = 2s;
// How long shutdown() waits for slow readers before closing them anyway.
constexpr auto k_shutdown_grace = 5s;
constexpr int k_accepts_per_wakeup = 64;

double seconds_between(EventLoop::TimePoint a, EventLoop::TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

class StreamServer::Session final : public EventLoop::Handler {
 public:
  Session(StreamServer& server, Fd fd, std::string peer)
      : m_server(server),
        m_fd(std::move(fd)),
        m_peer(std::move(peer)),
        m_words(server.m_options.exit_word, server.m_options.shutdown_word),
        m_started(server.m_loop.now()),
        m_last_active(m_started) {}

  void start() {
    if (m_server.m_options.report_connections) {
      m_local = Address::local_of(m_fd.get());
      const ServiceOptions& o = m_server.m_options;
      m_server.emit(report::Established{
          socket_line(), o.report_messages && o.proto == "tcp" ? tcp_info_report(m_fd.get()) : std::nullopt});
    }
    m_server.m_loop.add(m_fd.get(), EPOLLIN, this);
    arm_idle_timer();
  }

  void on_events(std::uint32_t events) override {
    if (m_state == State::closed) return;  // a stale event from the batch we were closed in
    if (events & EPOLLERR) {
      int err = pending_error(m_fd.get());
      close(err == ECONNRESET || err == EPIPE ? "reset" : "error");
      return;
    }
    if ((events & EPOLLOUT) && !flush()) return;
    if (events & (EPOLLIN | EPOLLHUP)) {
      if (m_state == State::lingering)
        discard_input();
      else if (m_state == State::open && m_pending.empty())
        read_once();
      else if (events & EPOLLHUP)
        close("reset");
    }
  }

  // Stop reading, send what is queued, then close politely. For idle, exit word, shutdown.
  void finish(const char* reason) {
    if (m_state != State::open) return;
    m_reason = reason;
    m_state = State::draining;
    if (m_pending.empty()) after_drained();
    else update_interest();
  }

 private:
  enum class State { open, draining, lingering, closed };

  report::Socket socket_line() const {
    return describe_socket(m_server.m_options.proto, m_fd.get(), m_local, m_peer);
  }

  void read_once() {
    std::vector<char>& buf = m_server.m_scratch;
    IoResult r = recv_some(m_fd.get(), buf);
    if (r.status == IoStatus::would_block) return;
    if (r.status == IoStatus::error) {
      close(r.error == ECONNRESET ? "reset" : "error");
      return;
    }
    if (r.status == IoStatus::eof) {  // half-close: answer what we have, then close
      m_peer_eof = true;
      finish("eof");
      return;
    }
    m_last_active = m_server.m_loop.now();
    m_rx += r.bytes;
    m_server.m_summary.rx += r.bytes;
    ++m_server.m_summary.messages;

    std::string_view chunk(buf.data(), r.bytes);
    WordWatcher::Verdict v = m_words.scan(chunk);
    std::span<char> reply(buf.data(), v.keep);
    const ServiceOptions& o = m_server.m_options;
    std::string original;
    if (o.report_messages) original.assign(reply.data(), reply.size());
    apply_mode(o.mode, reply);
    if (o.report_messages) report_messages(original, std::string_view(reply.data(), reply.size()));
    if (o.mode != Mode::discard && !send_or_queue(reply)) return;

    if (v.hit == WordHit::shutdown_word) {
      finish("shutdown-word");
      if (o.on_shutdown_word) o.on_shutdown_word();
      else m_server.shutdown();
    } else if (v.hit == WordHit::exit_word) {
      finish("exit-word");
    } else {
      update_interest();
    }
  }

  void report_messages(std::string_view data, std::string_view reply) {
    const bool discard = m_server.m_options.mode == Mode::discard;
    std::size_t offset = 0;
    for_each_line(data, [&](std::string_view line) {
      std::string_view out = discard ? std::string_view() : reply.substr(offset, line.size());
      offset += line.size();
      // The NUL padding after a fixed buffer's newline is not a message of its own.
      if (strip_padding(line).empty() && line.find('\0') != std::string_view::npos) return;
      m_server.emit(report::Message{m_peer, std::string(strip_padding(line)),
                                    std::string(strip_padding(out))});
    });
  }

  // Sends data now, queueing what the socket will not take. False when the session closed.
  bool send_or_queue(std::span<const char> data) {
    if (data.empty()) return true;
    std::size_t sent = 0;
    if (m_pending.empty()) {
      IoResult r = send_some(m_fd.get(), data);
      if (r.status == IoStatus::error) {
        close(r.error == EPIPE || r.error == ECONNRESET ? "reset" : "error");
        return false;
      }
      if (r.ok()) sent = r.bytes;
      m_tx += sent;
      m_server.m_summary.tx += sent;
    }
    if (sent < data.size()) {
      std::span<const char> rest = data.subspan(sent);
      if (m_buffer.empty()) m_buffer = m_server.m_pool.take();
      // The queue never exceeds one read: we stop reading while anything is queued.
      std::copy(rest.begin(), rest.end(), m_buffer.begin());
      m_pending = std::span<const char>(m_buffer.data(), rest.size());
    }
    return true;
  }

  // Sends queued replies. False when the session closed.
  bool flush() {
    while (!m_pending.empty()) {
      IoResult r = send_some(m_fd.get(), m_pending);
      if (r.status == IoStatus::would_block) return true;
      if (r.status == IoStatus::error) {
        close(r.error == EPIPE || r.error == ECONNRESET ? "reset" : "error");
        return false;
      }
      m_pending = m_pending.subspan(r.bytes);
      m_tx += r.bytes;
      m_server.m_summary.tx += r.bytes;
    }
    m_server.m_pool.give(std::move(m_buffer));
    m_buffer = {};
    if (m_state == State::draining) {
      after_drained();
      return m_state != State::closed;
    }
    update_interest();
    return true;
  }

  void after_drained() {
    if (m_peer_eof) {
      close(m_reason);
      return;
    }
    // Our side is done; let the client see EOF, and read what it still sends until it
    // closes too, so close() does not turn unread input into a RST.
    ::shutdown(m_fd.get(), SHUT_WR);
    m_state = State::lingering;
    update_interest();
    cancel_idle_timer();
    m_timer = m_server.m_loop.add_timer(k_linger, [this] {
      m_timer = 0;
      close(m_reason);
    });
  }

  void discard_input() {
    IoResult r = recv_some(m_fd.get(), m_server.m_scratch);
    if (r.status == IoStatus::ok || r.status == IoStatus::would_block) return;
    close(m_reason);
  }

  void update_interest() {
    std::uint32_t ev = 0;
    if (!m_pending.empty()) ev |= EPOLLOUT;
    else if (m_state == State::open || m_state == State::lingering) ev |= EPOLLIN;
    if (ev != m_interest) {
      m_server.m_loop.modify(m_fd.get(), ev, this);
      m_interest = ev;
    }
  }

  void arm_idle_timer() {
    const auto& idle = m_server.m_options.idle_timeout;
    if (!idle) return;
    m_timer = m_server.m_loop.add_timer(m_last_active + *idle, [this] {
      m_timer = 0;
      if (m_server.m_loop.now() - m_last_active >= *m_server.m_options.idle_timeout)
        finish("idle");
      else
        arm_idle_timer();
    });
  }

  void cancel_idle_timer() {
    if (m_timer != 0) m_server.m_loop.cancel_timer(m_timer);
    m_timer = 0;
  }

  void close(const char* reason) {
    if (m_state == State::closed) return;
    m_state = State::closed;
    cancel_idle_timer();
    m_server.m_loop.remove(m_fd.get());
    if (m_server.m_options.report_connections) {
      report::Closed e{socket_line(), m_rx, m_tx,
                       seconds_between(m_started, m_server.m_loop.now()), reason, std::nullopt};
      if (m_server.m_options.report_messages && m_server.m_options.proto == "tcp")
        e.tcp = tcp_info_report(m_fd.get());
      m_server.emit(std::move(e));
    }
    m_fd.reset();
    if (!m_buffer.empty()) m_server.m_pool.give(std::move(m_buffer));
    m_server.session_done(this);
  }

  StreamServer& m_server;
  Fd m_fd;
  Address m_local;
  std::string m_peer;
  WordWatcher m_words;
  State m_state = State::open;
  std::vector<char> m_buffer;         // from the pool, only while replies are queued
  std::span<const char> m_pending;    // the unsent part of m_buffer
  std::uint32_t m_interest = EPOLLIN;
  bool m_peer_eof = false;
  const char* m_reason = "eof";
  std::uint64_t m_rx = 0;
  std::uint64_t m_tx = 0;
  EventLoop::TimePoint m_started;
  EventLoop::TimePoint m_last_active;
  EventLoop::TimerId m_timer = 0;
};

StreamServer::StreamServer(EventLoop& loop, Fd listener, int backlog, ServiceOptions options,
                           EventSink sink)
    : m_loop(loop),
      m_listener(std::move(listener)),
      m_spare(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      m_backlog(backlog),
      m_options(std::move(options)),
      m_sink(std::move(sink)),
      m_local(Address::local_of(m_listener.get())),
      m_scratch(k_read_size),
      m_started(loop.now()) {}

StreamServer::~StreamServer() = default;

void StreamServer::start() {
  if (m_options.report_connections) {
    report::Socket s = describe_socket(m_options.proto, m_listener.get(), m_local,
                                       m_local.wildcard_peer());
    s.send_q = static_cast<std::uint32_t>(m_backlog);  // as ss shows a listener's backlog
    emit(report::Listen{s});
  }
  m_loop.add(m_listener.get(), EPOLLIN, this);
  m_accepting = true;
}

void StreamServer::on_events(std::uint32_t) { accept_ready(); }

void StreamServer::accept_ready() {
  for (int i = 0; i < k_accepts_per_wakeup && m_accepting; ++i) {
    Address peer;
    int fd = ::accept4(m_listener.get(), peer.get_mutable(), peer.size_mutable(),
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(Fd(fd), peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if ((errno == EMFILE || errno == ENFILE) && m_spare) {
      // Out of fds: the pending client would wake us forever. Free the spare, accept
      // and close it, take the spare back.
      m_spare.reset();
      Fd victim(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      victim.reset();
      m_spare.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      ++m_summary.errors;
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) ++m_summary.errors;
    return;
  }
}

void StreamServer::accept_one(Fd fd, const Address& peer) {
  const char* refusal = nullptr;
  if (!m_options.access.permits(peer)) refusal = "denied";
  else if (m_options.max_clients != 0 && client_count() >= m_options.max_clients) refusal = "max-clients";
  if (refusal != nullptr) {
    ++m_summary.refused;
    if (m_options.report_connections) {
      Address local = Address::local_of(fd.get());
      emit(report::Refused{describe_socket(m_options.proto, fd.get(), local, remote_name(fd.get(), peer)),
                           refusal});
    }
    // What already arrived is read and dropped, so that the close below is a FIN the
    // client sees as EOF, not a RST for unread data.
    while (recv_some(fd.get(), m_scratch).ok()) {
    }
    ::shutdown(fd.get(), SHUT_WR);
    return;  // fd closes here
  }
  ++m_summary.clients;
  if (m_options.shared_clients) ++*m_options.shared_clients;
  std::string remote = m_options.report_connections || m_options.report_messages
                           ? remote_name(fd.get(), peer)
                           : std::string();
  auto session = std::make_unique<Session>(*this, std::move(fd), std::move(remote));
  Session* raw = session.get();
  m_sessions.emplace(raw, std::move(session));
  raw->start();
  if (m_options.once) stop_accepting();
}

// A Unix client has no address worth showing; who it is (SO_PEERCRED) is.
std::string StreamServer::remote_name(int fd, const Address& peer) const {
  return m_local.family() == AF_UNIX ? peer_credentials(fd) : peer.to_string();
}

void StreamServer::stop_accepting() {
  if (!m_accepting) return;
  m_accepting = false;
  m_loop.remove(m_listener.get());
  m_listener.reset();
}

std::size_t StreamServer::client_count() const {
  return m_options.shared_clients ? m_options.shared_clients->load() : m_sessions.size();
}

void StreamServer::session_done(Session* session) {
  if (m_options.shared_clients) --*m_options.shared_clients;
  // Destroyed after the current batch: events for it may still be queued in it.
  m_loop.defer([this, session] {
    m_sessions.erase(session);
    maybe_finish();
  });
}

void StreamServer::maybe_finish() {
  if ((m_stopping || (m_options.once && !m_accepting)) && m_sessions.empty()) m_loop.stop();
}

void StreamServer::shutdown() {
  if (m_stopping) return;
  m_stopping = true;
  stop_accepting();
  std::vector<Session*> sessions;
  for (auto& [raw, owned] : m_sessions) sessions.push_back(raw);
  for (Session* s : sessions) s->finish("shutdown");
  m_loop.add_timer(k_shutdown_grace, [this] { m_loop.stop(); });
  m_loop.defer([this] { maybe_finish(); });
}

report::Summary StreamServer::summary() const {
  report::Summary s = m_summary;
  s.seconds = seconds_between(m_started, EventLoop::Clock::now());
  return s;
}

}  // namespace sockecho::net
