#include "net/stream_session.h"

#include <algorithm>
#include <new>
#include <system_error>

#include "net/socket.h"

namespace sockecho::net {
namespace {

using namespace std::chrono_literals;

// After our end of data, how long a client may keep sending before we close regardless.
// Closing with unread input would send a RST that can destroy replies it has not read.
constexpr auto k_linger = 2s;

}  // namespace

StreamSession::StreamSession(SessionContext& context, std::unique_ptr<Stream> stream, Peer peer)
    : m_ctx(context),
      m_stream(std::move(stream)),
      m_peer(std::move(peer)),
      m_words(context.options.exit_word, context.options.shutdown_word),
      m_started(context.loop.now()),
      m_last_active(m_started) {}

StreamSession::~StreamSession() = default;

// Every entry point from outside (the loop, a timer, the server) goes through here, so a
// failed call for this client ends this client and nothing else.
template <typename F>
void StreamSession::guarded(F fn) {
  try {
    fn();
  } catch (const std::system_error& e) {
    close(CloseReason::error, e.code().value());
  } catch (const std::bad_alloc&) {
    close(CloseReason::error, ENOMEM);
  }
}

void StreamSession::start() {
  guarded([this] {
    if (m_ctx.options.report_connections) {
      // Shown on every line; if the kernel will not say, the listener's address stands in.
      m_local = m_ctx.listen_address;
      m_local = Address::local_of(m_stream->fd());
    }
    m_ctx.loop.add(m_stream->fd(), EPOLLIN, this);
    m_registered = true;
    m_interest = EPOLLIN;
    if (m_ctx.options.tls) arm_handshake_timer();
    else arm_idle_timer();
    handshake();
  });
}

void StreamSession::finish(CloseReason reason) {
  guarded([this, reason] {
    if (m_state == State::handshaking) {
      close(reason);
      return;
    }
    if (m_state != State::open) return;
    m_reason = reason;
    m_state = State::draining;
    if (m_pending.empty()) after_drained();
    else update_interest();
  });
}

void StreamSession::on_events(std::uint32_t events) {
  if (m_state == State::closed) return;  // a stale event from the batch we were closed in
  guarded([this, events] { handle(events); });
}

void StreamSession::handle(std::uint32_t events) {
  if (events & EPOLLERR) {
    fail(pending_error(m_stream->fd()));
    return;
  }
  if (m_state == State::handshaking) {
    handshake();
    return;
  }
  const bool readable = events & (EPOLLIN | EPOLLHUP);
  const bool writable = events & EPOLLOUT;
  auto ready = [&](IoStatus wants) { return wants == IoStatus::want_write ? writable : readable; };
  if (!m_pending.empty() && ready(m_write_wants) && !flush()) return;
  if (m_fin_pending && ready(m_write_wants)) {
    end_writing();
    if (m_state == State::closed) return;
  }
  if (m_state == State::lingering) {
    if (ready(m_read_wants)) discard_input();
  } else if (m_state == State::open && m_pending.empty()) {
    if (ready(m_read_wants)) read_once();
  } else if (events & EPOLLHUP) {
    close(CloseReason::reset);
  }
}

void StreamSession::handshake() {
  IoResult r = m_stream->handshake();
  if (r.blocked()) {
    m_read_wants = r.status;
    update_interest();
    return;
  }
  if (!r.ok()) {
    // The client failing its handshake (an alert, bytes that are not TLS, leaving in the
    // middle) is reason=tls with the stream's reason. A failed call is what it is at any
    // other time: a reset, or this server's trouble with its errno (ENOMEM), not the client's.
    if (r.error == k_protocol_error) {
      m_detail = m_stream->failure();
      close(CloseReason::tls, r.error);
    } else {
      fail(r.error);
    }
    return;
  }
  m_read_wants = IoStatus::want_read;
  if (m_ctx.options.tls) {
    cancel_timer();
    // The handshake was the client's doing: its idle time starts now, not at its connect
    // (a handshake slower than --idle-timeout would otherwise end it at once).
    m_last_active = m_ctx.loop.now();
    arm_idle_timer();
  }
  established();
}

void StreamSession::established() {
  m_state = State::open;
  if (m_ctx.options.report_connections) {
    const ServiceOptions& o = m_ctx.options;
    AcceptEvent e{info(),
                  o.report_messages && o.proto == Proto::tcp ? tcp_stats(m_stream->fd()) : std::nullopt,
                  std::nullopt};
    if (const TlsSession* tls = m_stream->tls()) e.tls = *tls;
    m_ctx.emit(std::move(e));
  }
  update_interest();
}

void StreamSession::read_once() {
  std::span<char> buf(m_ctx.scratch);
  IoResult r = m_stream->read(buf);
  if (r.blocked()) {
    if (r.status != m_read_wants) {
      m_read_wants = r.status;
      update_interest();
    }
    return;
  }
  if (r.status == IoStatus::error) {
    fail(r.error);
    return;
  }
  if (r.status == IoStatus::eof) {  // half-close: answer what we have, then close
    m_peer_eof = true;
    finish(CloseReason::eof);
    return;
  }
  m_read_wants = IoStatus::want_read;
  m_last_active = m_ctx.loop.now();
  m_rx += r.bytes;
  m_ctx.stats.rx += r.bytes;
  ++m_ctx.stats.messages;
  report_data(Direction::received, buf.first(r.bytes));

  WordWatcher::Verdict v = m_words.scan(std::string_view(buf.data(), r.bytes));
  std::span<char> reply = buf.first(v.keep);
  const ServiceOptions& o = m_ctx.options;
  std::string original;
  if (o.report_messages) original.assign(reply.data(), reply.size());
  apply_mode(o.mode, reply);
  if (o.report_messages) report_messages(original, std::string_view(reply.data(), reply.size()));
  if (o.mode != Mode::discard && !write_or_queue(reply)) return;

  if (v.hit == WordHit::shutdown_word) {
    finish(CloseReason::shutdown_word);
    if (m_ctx.on_shutdown_word) m_ctx.on_shutdown_word();
  } else if (v.hit == WordHit::exit_word) {
    finish(CloseReason::exit_word);
  } else {
    update_interest();
  }
}

void StreamSession::report_messages(std::string_view data, std::string_view reply) {
  const bool discard = m_ctx.options.mode == Mode::discard;
  std::size_t offset = 0;
  for_each_line(data, [&](std::string_view line) {
    std::string_view out = discard ? std::string_view() : reply.substr(offset, line.size());
    offset += line.size();
    // The NUL padding after a fixed buffer's newline is not a message of its own.
    if (strip_padding(line).empty() && line.find('\0') != std::string_view::npos) return;
    m_ctx.emit(MessageEvent{m_ctx.options.proto, m_local, m_peer, std::string(line),
                            std::string(out)});
  });
}

// -x: the chunk as it was read (before the transform) or written. Nothing is copied
// without the option.
void StreamSession::report_data(Direction direction, std::span<const char> bytes) {
  if (!m_ctx.options.report_data) return;
  m_ctx.emit(DataEvent{m_peer, direction, std::string(bytes.data(), bytes.size())});
}

// Writes data now, queueing what the stream will not take. False when the session closed.
bool StreamSession::write_or_queue(std::span<const char> data) {
  if (data.empty()) return true;
  std::size_t sent = 0;
  if (m_pending.empty()) {
    IoResult r = m_stream->write(data);
    if (r.status == IoStatus::error) {
      fail(r.error);
      return false;
    }
    if (r.ok()) sent = r.bytes;
    else m_write_wants = r.status;
    m_tx += sent;
    m_ctx.stats.tx += sent;
    if (sent > 0) report_data(Direction::sent, data.first(sent));
  }
  if (sent < data.size()) {
    std::span<const char> rest = data.subspan(sent);
    if (m_buffer.empty()) m_buffer = m_ctx.pool.take();
    // The queue never exceeds one read: we stop reading while anything is queued.
    std::copy(rest.begin(), rest.end(), m_buffer.begin());
    m_pending = std::span<const char>(m_buffer.data(), rest.size());
  }
  return true;
}

// Writes queued replies. False when the session closed.
bool StreamSession::flush() {
  while (!m_pending.empty()) {
    IoResult r = m_stream->write(m_pending);
    if (r.blocked()) {
      m_write_wants = r.status;
      update_interest();
      return true;
    }
    if (r.status == IoStatus::error) {
      fail(r.error);
      return false;
    }
    report_data(Direction::sent, m_pending.first(r.bytes));
    m_pending = m_pending.subspan(r.bytes);
    m_tx += r.bytes;
    m_ctx.stats.tx += r.bytes;
  }
  m_write_wants = IoStatus::want_write;
  m_ctx.pool.give(std::move(m_buffer));
  m_buffer = {};
  if (m_state == State::draining) {
    after_drained();
    return m_state != State::closed;
  }
  update_interest();
  return true;
}

void StreamSession::after_drained() {
  // Our end of data goes out first, also to a client that has ended its side already: a
  // FIN, and over TLS a close_notify before it, without which a TLS client cannot tell
  // the end of the replies from a cut connection (OpenSSL: "unexpected eof").
  m_state = State::lingering;
  cancel_timer();
  end_writing();
  if (m_state == State::closed) return;
  // Then read and drop what the client still sends until it closes too, so close() does
  // not turn unread input into a RST; or wait until our end of data could be sent. Bounded.
  m_timer = m_ctx.loop.add_timer(k_linger, [this] {
    m_timer = 0;
    close(m_reason);
  });
}

void StreamSession::end_writing() {
  IoResult r = m_stream->shutdown_write();
  m_fin_pending = r.blocked();
  if (r.blocked()) m_write_wants = r.status;
  else m_write_wants = IoStatus::want_write;
  // The client is gone already, or both sides are done: nothing to linger for.
  if (r.status == IoStatus::error || (m_peer_eof && !m_fin_pending)) {
    close(m_reason);
    return;
  }
  update_interest();
}

void StreamSession::discard_input() {
  IoResult r = m_stream->read(m_ctx.scratch);
  if (r.ok()) {
    report_data(Direction::received, std::span<const char>(m_ctx.scratch).first(r.bytes));
    return;
  }
  if (r.blocked()) {
    if (r.status != m_read_wants) {
      m_read_wants = r.status;
      update_interest();
    }
    return;
  }
  close(m_reason);
}

void StreamSession::update_interest() {
  std::uint32_t ev = 0;
  switch (m_state) {
    case State::handshaking:
      ev = interest_of(m_read_wants);
      break;
    case State::open:
      ev = m_pending.empty() ? interest_of(m_read_wants) : interest_of(m_write_wants);
      break;
    case State::draining:
      if (!m_pending.empty()) ev = interest_of(m_write_wants);
      break;
    case State::lingering:
      // A client at its end of data has nothing more to read: we wait only to write.
      ev = (m_peer_eof ? 0u : interest_of(m_read_wants)) |
           (m_fin_pending ? interest_of(m_write_wants) : 0u);
      break;
    case State::closed:
      return;
  }
  if (ev != m_interest) {
    m_ctx.loop.modify(m_stream->fd(), ev, this);
    m_interest = ev;
  }
}

void StreamSession::arm_idle_timer() {
  const auto& idle = m_ctx.options.idle_timeout;
  if (!idle) return;
  m_timer = m_ctx.loop.add_timer(m_last_active + *idle, [this] {
    m_timer = 0;
    if (m_ctx.loop.now() - m_last_active >= *m_ctx.options.idle_timeout)
      finish(CloseReason::idle);
    else
      arm_idle_timer();
  });
}

// A client that has not finished its handshake in time is closed: it holds a TLS object
// (tens of KiB) and must not be able to hold it forever.
void StreamSession::arm_handshake_timer() {
  m_timer = m_ctx.loop.add_timer(m_ctx.options.handshake_timeout, [this] {
    m_timer = 0;
    m_detail = "handshake timed out";
    close(CloseReason::tls, ETIMEDOUT);
  });
}

void StreamSession::cancel_timer() {
  if (m_timer != 0) m_ctx.loop.cancel_timer(m_timer);
  m_timer = 0;
}

void StreamSession::fail(int err) {
  if (err == ECONNRESET || err == EPIPE) {
    close(CloseReason::reset, err);
  } else if (err == k_protocol_error && !m_stream->failure().empty()) {
    m_detail = m_stream->failure();
    close(CloseReason::tls, err);
  } else {
    close(CloseReason::error, err);
  }
}

void StreamSession::close(CloseReason reason, int err) {
  if (m_state == State::closed) return;
  m_state = State::closed;
  cancel_timer();
  if (m_registered) m_ctx.loop.remove(m_stream->fd());
  if (reason == CloseReason::error) ++m_ctx.stats.errors;
  if (m_ctx.options.report_connections) {
    CloseEvent e{info(), m_rx, m_tx,
                 std::chrono::duration<double>(m_ctx.loop.now() - m_started).count(), reason, err,
                 std::nullopt, std::move(m_detail)};
    if (m_ctx.options.report_messages && m_ctx.options.proto == Proto::tcp)
      e.tcp = tcp_stats(m_stream->fd());
    m_ctx.emit(std::move(e));
  }
  m_stream->close();
  if (!m_buffer.empty()) m_ctx.pool.give(std::move(m_buffer));
  m_buffer = {};
  m_pending = {};
  if (m_ctx.on_closed) m_ctx.on_closed(this);
}

SocketInfo StreamSession::info() const {
  return socket_info(m_ctx.options.proto, m_stream->fd(), m_local, m_peer);
}

}  // namespace sockecho::net
