#include "net/stream_server.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <new>
#include <system_error>

#include "net/socket.h"
#include "net/sys.h"
#include "net/tls_stream.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

using namespace std::chrono_literals;

// How long shutdown() waits for slow readers before closing them anyway.
constexpr auto k_shutdown_grace = 5s;
// How long accepting pauses after accept(2) failed for want of memory or buffers; the
// waiting clients stay queued in the backlog meanwhile.
constexpr auto k_accept_backoff = 100ms;
constexpr int k_accepts_per_wakeup = 64;

Fd open_spare() {
  SysResult r = sys::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return r.ok() ? Fd(r.value) : Fd();
}

}  // namespace

StreamServer::StreamServer(EventLoop& loop, std::shared_ptr<Fd> listener, int backlog,
                           ServiceOptions options, EventSink sink, bool shared)
    : m_loop(loop),
      m_listener(std::move(listener)),
      m_shared(shared),
      m_spare(open_spare()),
      m_backlog(backlog),
      m_options(std::move(options)),
      m_local(Address::local_of(m_listener->get())),
      m_ctx(loop, m_options, m_local, k_read_size, std::move(sink)),
      m_started(loop.now()) {
  m_ctx.on_closed = [this](StreamSession* s) { session_closed(s); };
  m_ctx.on_shutdown_word = m_options.on_shutdown_word ? m_options.on_shutdown_word
                                                      : std::function<void()>([this] { shutdown(); });
}

StreamServer::~StreamServer() {
  if (m_resume != 0) m_loop.cancel_timer(m_resume);
}

void StreamServer::start() {
  if (m_options.report_connections)
    m_ctx.emit(ListenEvent{socket_info(m_options.proto, m_listener->get(), m_local, Peer{}), m_backlog,
                           m_options.tls ? m_options.tls->fingerprint() : std::nullopt});
  m_accepting = true;
  watch_listener();
}

void StreamServer::watch_listener() {
  // EPOLLEXCLUSIVE: of the loops sharing the listener, one is woken per client.
  try {
    m_loop.add(m_listener->get(), EPOLLIN | (m_shared ? std::uint32_t{EPOLLEXCLUSIVE} : 0u), this);
  } catch (const std::system_error& e) {
    // EEXIST: removing it when accepting paused failed, so it is still registered, with
    // these same events and handler: watching again is what we want.
    if (e.code().value() != EEXIST) throw;
  }
  m_watching = true;
}

void StreamServer::on_events(std::uint32_t) {
  if (!m_watching) {
    // Paused, but the removal failed (or this event was already in the batch): try again,
    // or the level-triggered listener wakes the loop in a spin until accepting resumes.
    if (m_listener) m_loop.remove(m_listener->get());
    return;
  }
  accept_ready();
}

void StreamServer::accept_ready() {
  for (int i = 0; i < k_accepts_per_wakeup && m_watching; ++i) {
    Address peer;
    SysResult r = sys::accept4(m_listener->get(), peer.get_mutable(), peer.size_mutable(),
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (r.ok()) accept_one(Fd(r.value), peer);
    else if (r.error == EAGAIN || r.error == EWOULDBLOCK || !accept_failed(r.error)) return;
  }
}

bool StreamServer::accept_failed(int error) {
  // The client gave up before we got to it: nothing to report, go on.
  if (error == ECONNABORTED || error == EPROTO) return true;
  if ((error == EMFILE || error == ENFILE) && m_spare) {
    // Out of fds: the waiting client would wake us forever. Free the spare, accept the
    // client on it and close it at once, with a line; take the spare back. (Linux checks
    // for a free fd before it looks for a client, so there may be none.)
    m_spare.reset();
    Address peer;
    SysResult r = sys::accept4(m_listener->get(), peer.get_mutable(), peer.size_mutable(),
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
    Fd victim(r.ok() ? r.value : -1);
    if (victim) {
      ++m_ctx.stats.errors;
      refuse(std::move(victim), peer, RefuseReason::error, error);
    }
    m_spare = open_spare();
    if (m_spare) return static_cast<bool>(victim);
  }
  // Out of memory or buffers (or fds, with no spare to help): leave the clients queued
  // and try again shortly, instead of spinning on a listener that stays readable.
  ++m_ctx.stats.errors;
  pause_accepting();
  return false;
}

void StreamServer::pause_accepting() {
  if (!m_watching) return;
  m_loop.remove(m_listener->get());
  m_watching = false;
  schedule_resume();
}

void StreamServer::schedule_resume() {
  m_resume = m_loop.add_timer(k_accept_backoff, [this] {
    m_resume = 0;
    if (!m_accepting) return;
    try {
      if (!m_spare) m_spare = open_spare();
      watch_listener();
    } catch (const std::system_error&) {
      // The registration itself failed: later, again. (Not pause_accepting(), which does
      // nothing when not watching: accepting would never resume.)
      schedule_resume();
    }
  });
}

// Reports a client we will not serve and closes it with a FIN, not a RST.
void StreamServer::refuse(Fd fd, const Address& peer, RefuseReason reason, int error) {
  ++m_ctx.stats.refused;
  if (m_options.report_connections) {
    Address local = m_local;
    try {
      local = Address::local_of(fd.get());
    } catch (const std::system_error&) {
      // the listener's address stands in
    }
    m_ctx.emit(RefuseEvent{socket_info(m_options.proto, fd.get(), local, peer_of(fd.get(), peer)),
                           reason, error});
  }
  // What already arrived is read and dropped, so that the close below is a FIN the
  // client sees as EOF, not a RST for unread data.
  while (recv_some(fd.get(), m_ctx.scratch).ok()) {
  }
  shutdown_socket(fd.get(), SHUT_WR);
}  // fd closes here

void StreamServer::accept_one(Fd fd, const Address& peer) {
  if (!m_options.access.permits(peer)) return refuse(std::move(fd), peer, RefuseReason::denied, 0);
  if (m_options.max_clients != 0 && client_count() >= m_options.max_clients)
    return refuse(std::move(fd), peer, RefuseReason::max_clients, 0);
  const int client_fd = fd.get();
  std::unique_ptr<Stream> stream;
  std::unique_ptr<StreamSession> session;
  try {
    Peer who = m_options.report_connections || m_options.report_messages ? peer_of(fd.get(), peer)
                                                                          : Peer{};
    if (fault_alloc()) throw std::bad_alloc();  // a test's failpoint: as if memory ran out
    if (m_options.tls) {
      // A handshake flight is several records, each its own send(): without this, Nagle
      // holds the later ones until the first is acknowledged (socket.h).
      if (m_options.proto == Proto::tcp) set_no_delay(fd.get());
      stream = std::make_unique<TlsStream>(std::move(fd), m_options.tls);
    }
    else stream = std::make_unique<SocketStream>(std::move(fd));
    session = std::make_unique<StreamSession>(m_ctx, std::move(stream), std::move(who));
    m_sessions.emplace(session.get(), nullptr);
  } catch (const std::bad_alloc&) {
    // No memory for this client: it alone is closed, by whichever object owns its fd now.
    ++m_ctx.stats.errors;
    if (m_options.report_connections)
      m_ctx.emit(CloseEvent{socket_info(m_options.proto, client_fd, m_local, Peer{peer, std::nullopt}),
                            0, 0, 0, CloseReason::error, ENOMEM, std::nullopt, {}});
    return;
  }
  StreamSession* raw = session.get();
  m_sessions[raw] = std::move(session);
  ++m_ctx.stats.clients;
  if (m_options.shared_clients) ++*m_options.shared_clients;
  raw->start();
  if (m_options.once) stop_accepting();
}

// A Unix client has no address worth showing; who it is (SO_PEERCRED) is.
Peer StreamServer::peer_of(int fd, const Address& address) const {
  if (m_local.family() == AF_UNIX) return Peer{address, peer_credentials(fd)};
  return Peer{address, std::nullopt};
}

void StreamServer::stop_accepting() {
  if (!m_accepting) return;
  m_accepting = false;
  if (m_watching) m_loop.remove(m_listener->get());
  m_watching = false;
  // Our share of the listener; the socket closes with the last loop's.
  m_listener.reset();
}

std::size_t StreamServer::client_count() const {
  return m_options.shared_clients ? m_options.shared_clients->load() : m_sessions.size();
}

void StreamServer::session_closed(StreamSession* session) {
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
  std::vector<StreamSession*> sessions;
  for (auto& [raw, owned] : m_sessions) sessions.push_back(raw);
  for (StreamSession* s : sessions) s->finish(CloseReason::shutdown);
  m_loop.add_timer(k_shutdown_grace, [this] { m_loop.stop(); });
  m_loop.defer([this] { maybe_finish(); });
}

ServiceStats StreamServer::stats() const {
  ServiceStats s = m_ctx.stats;
  s.seconds = std::chrono::duration<double>(EventLoop::Clock::now() - m_started).count();
  return s;
}

}  // namespace sockecho::net
