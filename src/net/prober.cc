#include "net/prober.h"

#include <poll.h>
#include <sys/socket.h>

#include "net/connector.h"
#include "net/fd.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/sys.h"
#include "net/tls_stream.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// What a failed connect or send says about the endpoint, as nmap would put it.
ProbeState state_of(int error) {
  switch (error) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ENOENT:      // Unix: no socket at that path
    case EPROTOTYPE:  // Unix: a socket of the other type; nothing of ours listens
      return ProbeState::closed;
    case ETIMEDOUT:
    case EACCES:
    case EPERM:  // a firewall said no
      return ProbeState::filtered;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
      return ProbeState::unreachable;
    default:
      return ProbeState::error;
  }
}

constexpr std::size_t k_max_reply = 65536;

}  // namespace

std::string_view state_name(ProbeState state) {
  switch (state) {
    case ProbeState::open:
      return "OPEN";
    case ProbeState::closed:
      return "CLOSED";
    case ProbeState::filtered:
      return "FILTERED";
    case ProbeState::unreachable:
      return "UNREACHABLE";
    case ProbeState::open_filtered:
      return "OPEN|FILTERED";
    case ProbeState::bad_echo:
      return "BADECHO";
    case ProbeState::no_echo:
      return "NOECHO";
    case ProbeState::bad_tls:
      return "BADTLS";
    case ProbeState::expiring:
      return "EXPIRING";
    case ProbeState::error:
      return "ERROR";
  }
  return "?";
}

// One probe of one endpoint: connect (or send), maybe echo, across its candidates.
class Prober::Probe final : public EventLoop::Handler {
 public:
  Probe(Prober& prober, std::shared_ptr<const ProbeSpec> spec, Done done)
      : m_prober(prober), m_spec(std::move(spec)), m_done(std::move(done)) {}

  void start() { guarded([this] { try_candidate(); }); }

  // Prober::stop: the outcome now, as the timeout would give it, with no other candidate.
  void cut_short() {
    if (m_finished) return;
    m_index = m_spec->candidates.size() - 1;
    if (m_timer != 0) m_prober.m_loop.cancel_timer(m_timer);
    m_timer = 0;
    guarded([this] { timed_out(); });
  }

  void on_events(std::uint32_t events) override {
    if (m_finished) return;
    guarded([&] { handle(events); });
  }

 private:
  enum class Phase { connecting, handshaking, sending, awaiting_reply };

  // A failed call (an epoll registration, an allocation) fails this endpoint's probe, with
  // its errno, and never the prober.
  template <typename F>
  void guarded(F fn) {
    int err = 0;
    try {
      fn();
      return;
    } catch (const std::system_error& e) {
      err = e.code().value();
    } catch (const std::bad_alloc&) {
      err = ENOMEM;
    }
    if (!m_finished) fail_guarded(err);
  }

  // fail() may try the next candidate, which may fail the same way: once per candidate.
  void fail_guarded(int err) {
    try {
      fail(err);
    } catch (const std::system_error& e) {
      if (!m_finished) fail_guarded(e.code().value());
    } catch (const std::bad_alloc&) {
      if (!m_finished) fail_guarded(ENOMEM);
    }
  }

  void handle(std::uint32_t events) {
    switch (m_phase) {
      case Phase::connecting: {
        int err = pending_error(m_fd.get());
        if (err != 0) return fail(err);
        if ((events & EPOLLOUT) == 0) return;
        return connected();
      }
      case Phase::handshaking:
        return handshake();
      case Phase::sending:
        return send_echo();
      case Phase::awaiting_reply:
        return read_reply();
    }
  }

  int fd() const { return m_stream ? m_stream->fd() : m_fd.get(); }

  void try_candidate() {
    const Address& a = m_spec->candidates[m_index];
    m_outcome = ProbeOutcome{};
    m_outcome.remote = a;
    m_reply.clear();
    try {
      m_fd = open_socket(a.family(), m_spec->type);
      if (a.family() == AF_UNIX && m_spec->type == SockType::datagram) autobind(m_fd.get());
      if (m_spec->source) bind_source(m_fd.get(), *m_spec->source);
    } catch (const std::system_error& e) {
      return fail(e.code().value());
    }
    m_started = Clock::now();
    SysResult c = sys::connect(m_fd.get(), a.get(), a.size());
    if (m_spec->type == SockType::datagram) {
      if (!c.ok()) return fail(c.error);
      note_local();
      return send_datagram();
    }
    if (c.ok()) return connected();
    if (c.error != EINPROGRESS) return fail(c.error);
    m_phase = Phase::connecting;
    // On loopback the answer (SYN-ACK or RST) has usually been handled by the time connect
    // returns: one poll settles it without epoll registration, a wait and a timer.
    pollfd p{m_fd.get(), POLLOUT, 0};
    if (sys::poll(&p, 1, 0).value == 1) return handle(EPOLLOUT);
    watch(EPOLLOUT);
  }

  void connected() {
    note_local();
    // Probing 127.0.0.1:P from the ephemeral port P connects the socket to itself (TCP
    // simultaneous open): nobody listens there, so it is closed.
    if (m_outcome.local.unmapped() == m_outcome.remote.unmapped()) return fail(ECONNREFUSED);
    m_connect_ms = ms_since(m_started);
    if (!m_spec->echo && !m_spec->tls) return finish(ProbeState::open, m_connect_ms);
    if (m_spec->tls && m_outcome.remote.is_inet()) set_no_delay(m_fd.get());  // see socket.h
    if (m_spec->tls)
      m_stream = std::make_unique<TlsStream>(std::move(m_fd), m_spec->tls, m_spec->server_name);
    else
      m_stream = std::make_unique<SocketStream>(std::move(m_fd));
    m_phase = Phase::handshaking;
    m_started = Clock::now();
    handshake();
  }

  void handshake() {
    IoResult r = m_stream->handshake();
    if (r.blocked()) return watch(interest_of(r.status));
    if (m_spec->tls) {
      m_outcome.tls_ms = ms_since(m_started);
      if (const TlsSession* s = m_stream->tls()) m_outcome.tls = *s;
      if (!r.ok()) {
        m_outcome.tls_failure = m_stream->failure();
        m_outcome.rtt_ms = m_connect_ms;
        return finish_error(ProbeState::bad_tls, r.error == k_protocol_error ? 0 : r.error,
                            m_connect_ms);
      }
      if (m_outcome.tls->verify == Verify::failed) {
        m_outcome.tls_failure = "certificate verify failed: " + m_outcome.tls->verify_error;
        return finish(ProbeState::bad_tls, m_connect_ms);
      }
      if (!m_spec->echo) return finish(ProbeState::open, m_connect_ms);
    } else if (!r.ok()) {
      return finish_error(ProbeState::no_echo, r.error);
    }
    // The echo's round trip is the RTT a health check cares about.
    m_started = Clock::now();
    m_sent = 0;
    m_phase = Phase::sending;
    send_echo();
  }

  void send_echo() {
    while (m_sent < m_spec->payload.size()) {
      IoResult r = m_stream->write(std::string_view(m_spec->payload).substr(m_sent));
      if (r.blocked()) return watch(interest_of(r.status));
      if (!r.ok()) {
        m_outcome.failure = m_stream->failure();
        return finish_error(ProbeState::no_echo, r.error);
      }
      m_sent += r.bytes;
    }
    m_phase = Phase::awaiting_reply;
    watch(EPOLLIN);
  }

  void send_datagram() {
    IoResult r = send_some(m_fd.get(), m_spec->payload);
    if (r.status == IoStatus::error) return fail(r.error);
    m_phase = Phase::awaiting_reply;
    watch(EPOLLIN);
  }

  void read_reply() {
    char buf[k_min_read];
    IoResult r = m_stream ? m_stream->read(buf) : recv_some(m_fd.get(), buf);
    if (r.blocked()) return watch(interest_of(r.status));
    if (m_spec->type == SockType::datagram) {
      if (r.status == IoStatus::error) return fail(r.error);  // ECONNREFUSED: port unreachable
      m_reply.assign(buf, r.bytes);
      bool right = m_spec->expect.empty() || m_reply == m_spec->expect;
      return finish(right ? ProbeState::open : ProbeState::bad_echo, ms_since(m_started));
    }
    if (r.status == IoStatus::error) {
      if (m_stream) m_outcome.failure = m_stream->failure();
      return finish_error(m_reply.empty() ? ProbeState::no_echo : ProbeState::bad_echo, r.error);
    }
    if (r.status == IoStatus::eof) return finish(m_reply.empty() ? ProbeState::no_echo : ProbeState::bad_echo, std::nullopt);
    m_reply.append(buf, r.bytes);
    if (m_reply.size() >= m_spec->expect.size() || m_reply.size() > k_max_reply) {
      bool right = m_reply.compare(0, m_spec->expect.size(), m_spec->expect) == 0;
      finish(right ? ProbeState::open : ProbeState::bad_echo, ms_since(m_started));
    }
  }

  void watch(std::uint32_t events) {
    if (!m_registered) {
      m_prober.m_loop.add(fd(), events, this);
      m_registered = true;
      m_interest = events;
    } else if (events != m_interest) {
      m_prober.m_loop.modify(fd(), events, this);
      m_interest = events;
    }
    if (m_timer == 0)
      m_timer = m_prober.m_loop.add_timer(Clock::now() + m_spec->timeout, [this] {
        m_timer = 0;
        // Guarded like every entry point: a connect timeout tries the next candidate, whose
        // registration may fail, and that must fail this probe, not escape the loop.
        guarded([this] { timed_out(); });
      });
  }

  void timed_out() {
    if (m_phase == Phase::connecting) return fail(ETIMEDOUT);
    if (m_phase == Phase::handshaking && m_spec->tls) {
      m_outcome.tls_failure = "handshake timed out";
      return finish_error(ProbeState::bad_tls, ETIMEDOUT, m_connect_ms);
    }
    if (m_phase == Phase::handshaking || m_phase == Phase::sending)
      return finish_error(ProbeState::no_echo, ETIMEDOUT);
    if (m_spec->type == SockType::datagram)
      return finish(m_spec->echo ? ProbeState::no_echo : ProbeState::open_filtered, std::nullopt);
    finish_error(m_reply.empty() ? ProbeState::no_echo : ProbeState::bad_echo, ETIMEDOUT);
  }

  void note_local() {
    Address local;
    if (sys::getsockname(fd(), local.get_mutable(), local.size_mutable()).ok())
      m_outcome.local = local;
  }

  // A candidate failed: try the next address, or report this failure.
  void fail(int error) {
    release_socket();
    if (m_index + 1 < m_spec->candidates.size()) {
      ++m_index;
      return try_candidate();
    }
    m_outcome.error = error;
    m_outcome.state = state_of(error);
    report();
  }

  void finish_error(ProbeState state, int error, std::optional<double> rtt_ms = std::nullopt) {
    m_outcome.error = error;
    finish(state, rtt_ms);
  }

  void finish(ProbeState state, std::optional<double> rtt_ms) {
    m_outcome.state = state;
    m_outcome.rtt_ms = rtt_ms;
    if (state == ProbeState::bad_echo) m_outcome.reply = std::move(m_reply);
    release_socket();
    report();
  }

  void release_socket() {
    if (m_timer != 0) m_prober.m_loop.cancel_timer(m_timer);
    m_timer = 0;
    if (m_registered) m_prober.m_loop.remove(fd());
    m_registered = false;
    if (m_spec->source && m_spec->source->port() != 0 && m_spec->type == SockType::stream &&
        fd() >= 0)
      reset_on_close(fd());
    m_fd.reset();
    if (m_stream) m_stream->close();
    m_stream.reset();
  }

  void report() {
    m_finished = true;
    m_prober.finished(this, m_outcome, m_done);
  }

  Prober& m_prober;
  std::shared_ptr<const ProbeSpec> m_spec;
  Done m_done;
  std::size_t m_index = 0;
  Fd m_fd;                          // while connecting, and for datagram probes
  std::unique_ptr<Stream> m_stream;  // a connected stream, for an echo check
  Phase m_phase = Phase::connecting;
  std::size_t m_sent = 0;            // bytes of the payload written
  std::uint32_t m_interest = 0;
  bool m_registered = false;
  bool m_finished = false;
  EventLoop::TimerId m_timer = 0;
  Clock::time_point m_started;
  double m_connect_ms = 0;
  std::string m_reply;
  ProbeOutcome m_outcome;
};

Prober::Prober(EventLoop& loop, std::size_t concurrency)
    : m_loop(loop), m_concurrency(concurrency == 0 ? 1 : concurrency) {}

Prober::~Prober() {
  if (m_wakeup != 0) m_loop.cancel_timer(m_wakeup);
}

void Prober::submit(std::shared_ptr<const ProbeSpec> spec, EventLoop::TimePoint when, Done done) {
  if (m_stopped) return;
  // Probes mostly come in time order: appending at the end is then constant time.
  m_queue.emplace_hint(m_queue.end(), when, Job{std::move(spec), std::move(done)});
  pump();
}

void Prober::pump() {
  if (m_pumping) return;  // a probe that finished at once, inside the loop below
  m_pumping = true;
  auto now = EventLoop::Clock::now();
  while (m_in_flight < m_concurrency && !m_queue.empty() && m_queue.begin()->first <= now) {
    auto node = m_queue.extract(m_queue.begin());
    ++m_in_flight;
    auto probe = std::make_unique<Probe>(*this, std::move(node.mapped().spec), std::move(node.mapped().done));
    Probe* raw = probe.get();
    m_probes.emplace(raw, std::move(probe));
    raw->start();
  }
  m_pumping = false;
  // Wake up for the next scheduled probe, if it is not due yet and there is room.
  if (!m_queue.empty() && m_in_flight < m_concurrency) {
    auto next = m_queue.begin()->first;
    if (m_wakeup == 0 || next < m_wakeup_at) {
      if (m_wakeup != 0) m_loop.cancel_timer(m_wakeup);
      m_wakeup_at = next;
      m_wakeup = m_loop.add_timer(next, [this] {
        m_wakeup = 0;
        pump();
      });
    }
  }
}

void Prober::stop() {
  m_stopped = true;
  m_queue.clear();
  if (m_wakeup != 0) m_loop.cancel_timer(m_wakeup);
  m_wakeup = 0;
  // Collected first: each outcome's callback runs inside, and the map must not change
  // under the loop (finished probes are erased later, through defer).
  std::vector<Probe*> running;
  running.reserve(m_probes.size());
  for (auto& [raw, owned] : m_probes) running.push_back(raw);
  for (Probe* p : running) p->cut_short();
}

void Prober::finished(Probe* probe, const ProbeOutcome& outcome, const Done& done) {
  --m_in_flight;
  done(outcome);
  // Destroyed after the current batch: events for it may still be queued in it.
  m_loop.defer([this, probe] { m_probes.erase(probe); });
  pump();
}

}  // namespace sockecho::net
