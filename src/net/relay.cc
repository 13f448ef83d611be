#include "net/relay.h"

#include <algorithm>
#include <span>
#include <string_view>
#include <vector>

#include "net/crlf.h"
#include "net/event_loop.h"
#include "net/socket.h"
#include "net/sys.h"
#include "net/transform.h"

namespace sockecho::net {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t k_chunk = 64 * 1024;
static_assert(k_chunk >= k_min_read);

// How often the kernel's unacknowledged count is looked at while waiting for it to reach
// 0: acknowledgements raise no epoll event, so this is a short poll, never a spin.
constexpr auto k_ack_poll = 10ms;

// Once stdout is gone, how long the peer may go on sending before we close regardless,
// when there is no drain_timeout to say it.
constexpr auto k_output_linger = 2s;

class Relay {
 public:
  Relay(int in_fd, const std::string& preset, Stream& stream, int out_fd, const RelayOptions& o)
      : m_in(in_fd), m_preset(preset), m_stream(stream), m_out(out_fd), m_options(o),
        m_raw(o.crlf ? k_chunk : 0), m_to_sock(k_chunk), m_from_sock(k_chunk), m_input(*this),
        m_socket(*this) {}

  RelayResult run() {
    m_loop.add(m_stream.fd(), EPOLLIN, &m_socket);
    m_socket_registered = true;
    if (m_in >= 0) {
      m_loop.add(m_in, EPOLLIN, &m_input);
    } else {
      queue(m_preset);
      m_input_done = true;
      if (!m_stopped && m_pending.empty()) half_close();
    }
    update_socket();
    if (!m_stopped) m_loop.run();
    return m_result;
  }

 private:
  struct InputHandler final : EventLoop::Handler {
    explicit InputHandler(Relay& r) : relay(r) {}
    void on_events(std::uint32_t) override { relay.read_input(); }
    Relay& relay;
  };
  struct SocketHandler final : EventLoop::Handler {
    explicit SocketHandler(Relay& r) : relay(r) {}
    void on_events(std::uint32_t events) override { relay.socket_ready(events); }
    Relay& relay;
  };

  void fail(RelayStep step, int error) {
    if (m_output_gone) return stop();  // ending anyway; the closed output is what we report
    m_result.end = RelayEnd::failed;
    m_result.failed = step;
    m_result.error = error;
    stop();
  }

  void stop() {
    m_stopped = true;
    m_loop.stop();
  }

  // What of the input the peer has not acknowledged: what we hold, and what the kernel
  // holds. The FIN takes a sequence number, which SIOCOUTQ counts until it is acknowledged;
  // under TLS the kernel holds records (a little more than the plaintext in them), so its
  // figure is capped at what was sent.
  std::uint64_t unacknowledged() const {
    std::uint64_t n = m_pending.size();
    if (m_options.kernel_unacknowledged) {
      std::uint64_t queued = m_options.kernel_unacknowledged();
      if (m_fin_sent && queued > 0) --queued;
      n += std::min(queued, m_result.sent);
    }
    return n;
  }

  // The relay would end as `how` (the peer closed, or silence): only once the peer has
  // every byte. Until then it waits, watching the kernel's count, for at most
  // drain_timeout without progress.
  void finish(RelayEnd how) {
    if (unacknowledged() == 0) {
      m_result.end = how;
      return stop();
    }
    if (how == RelayEnd::drain_timeout) return give_up_unacknowledged();
    // The peer has closed: nothing more to read, and a socket shut down both ways reports
    // EPOLLHUP for as long as it is registered. The ack poll alone watches it now.
    m_awaiting_acks = true;
    if (m_timer == 0) {
      m_last_activity = m_loop.now();
      arm_drain_timer();
    }
    if (m_socket_registered) {
      m_loop.remove(m_stream.fd());
      m_socket_registered = false;
    }
    watch_acks();
  }

  void give_up_unacknowledged() {
    m_result.end = RelayEnd::unacknowledged;
    m_result.unacknowledged = unacknowledged();
    stop();
  }

  // Keeps data to send (CRLF-encoded under --crlf) and sends what the stream takes;
  // called only when nothing is pending. data must not lie in m_to_sock.
  void queue(std::string_view data) {
    const std::size_t room = m_options.crlf ? 2 * data.size() : data.size();
    if (room > m_to_sock.size()) m_to_sock.resize(room);
    std::size_t n = data.size();
    if (m_options.crlf) n = m_crlf.encode(data, m_to_sock.data());
    else std::copy(data.begin(), data.end(), m_to_sock.begin());
    m_pending = std::span<const char>(m_to_sock.data(), n);
    m_last_write_progress = m_loop.now();
    send_pending();
  }

  void send_pending() {
    while (!m_pending.empty()) {
      IoResult r = m_stream.write(m_pending);
      if (r.blocked()) {
        m_write_wants = r.status;
        arm_stall_timer();
        break;
      }
      if (r.status == IoStatus::error) return fail(RelayStep::send, r.error);
      std::span<const char> written = m_pending.first(r.bytes);
      m_pending = m_pending.subspan(r.bytes);
      m_result.sent += r.bytes;
      m_last_write_progress = m_loop.now();
      if (!report(Direction::sent, written)) return;
    }
  }

  // -x: false when the dump's output is gone, and the relay is ending for it.
  bool report(Direction direction, std::span<const char> bytes) {
    if (!m_options.on_data || m_options.on_data(direction, bytes)) return true;
    output_failed(EPIPE);
    return false;
  }

  // A write that makes no progress for drain_timeout (a peer that stopped reading) ends
  // the relay, as silence after the input does.
  void arm_stall_timer() {
    if (!m_options.drain_timeout || m_stall_timer != 0) return;
    m_stall_timer = m_loop.add_timer(m_last_write_progress + *m_options.drain_timeout, [this] {
      m_stall_timer = 0;
      if (m_stopped || m_pending.empty()) return;
      if (m_loop.now() - m_last_write_progress >= *m_options.drain_timeout)
        return give_up_unacknowledged();
      arm_stall_timer();
    });
  }

  void read_input() {
    if (m_stopped || m_input_done || !m_pending.empty()) return;
    // Read straight into the send buffer, unless it is to be encoded on the way.
    std::vector<char>& into = m_options.crlf ? m_raw : m_to_sock;
    IoResult r = read_some(m_in, into);
    if (r.blocked()) return;
    if (r.status == IoStatus::error) return fail(RelayStep::read_input, r.error);
    if (r.status == IoStatus::eof) {
      end_input();
      return;
    }
    std::string_view chunk(into.data(), r.bytes);
    if (m_options.crlf) {
      queue(chunk);
    } else {
      m_pending = std::span<const char>(into.data(), r.bytes);
      m_last_write_progress = m_loop.now();
      send_pending();
    }
    if (m_stopped || m_output_gone) return;
    if (is_word(chunk, m_options.input_exit_word)) end_input();
    else update_input();
    update_socket();
  }

  void end_input() {
    m_input_done = true;
    m_loop.remove(m_in);
    if (m_pending.empty()) half_close();
    update_socket();
  }

  void half_close() {
    if (m_fin_sent) return;
    IoResult r = m_stream.shutdown_write();
    m_fin_pending = r.blocked();
    m_fin_sent = r.ok();
    if (r.blocked()) m_write_wants = r.status;
    if (m_output_gone) {
      if (m_peer_eof && !m_fin_pending) return stop();
      arm_drain_timer();
      return;
    }
    // The peer had finished first: with our input delivered, both sides are done.
    if (m_peer_eof && !m_fin_pending) return finish(RelayEnd::peer_closed);
    // A failed shutdown means the peer is gone; reading says how, so it is not fatal here.
    m_last_activity = m_loop.now();
    arm_drain_timer();
    watch_acks();
  }

  // Silence after the input ended: no data from the peer, and none of ours acknowledged.
  void arm_drain_timer() {
    if (!m_options.drain_timeout && !m_output_gone) return;
    if (!m_options.drain_timeout) {
      if (m_timer == 0) m_timer = m_loop.add_timer(k_output_linger, [this] { stop(); });
      return;
    }
    if (m_timer != 0) m_loop.cancel_timer(m_timer);
    m_timer = m_loop.add_timer(m_last_activity + *m_options.drain_timeout, [this] {
      m_timer = 0;
      if (m_output_gone) return stop();
      if (m_loop.now() - m_last_activity < *m_options.drain_timeout) return arm_drain_timer();
      finish(RelayEnd::drain_timeout);
    });
  }

  // While the kernel holds bytes the peer has not acknowledged, look again every few ms:
  // a count that goes down is progress (it keeps the drain timer off), and 0 is what a
  // relay whose peer has closed waits for.
  void watch_acks() {
    if (!m_options.kernel_unacknowledged || m_ack_timer != 0 || m_stopped) return;
    std::uint64_t n = unacknowledged();
    if (n < m_last_unacknowledged) m_last_activity = m_loop.now();
    m_last_unacknowledged = n;
    if (n == 0) {
      if (m_awaiting_acks) {
        m_result.end = RelayEnd::peer_closed;
        stop();
      }
      return;
    }
    if (m_awaiting_acks) {
      // Unregistered, we learn of a reset only from the socket's error.
      if (int error = pending_error(m_stream.fd()); error != 0) return fail(RelayStep::send, error);
    }
    m_ack_timer = m_loop.add_timer(k_ack_poll, [this] {
      m_ack_timer = 0;
      watch_acks();
    });
  }

  void socket_ready(std::uint32_t events) {
    if (m_stopped) return;
    const bool readable = events & (EPOLLIN | EPOLLHUP | EPOLLERR);
    const bool writable = events & (EPOLLOUT | EPOLLERR);
    auto ready = [&](IoStatus wants) { return wants == IoStatus::want_write ? writable : readable; };
    if ((!m_pending.empty() || m_fin_pending) && ready(m_write_wants)) {
      m_write_wants = IoStatus::want_write;
      send_pending();
      if (m_stopped) return;
      if (m_pending.empty() && m_input_done) half_close();
      if (m_stopped) return;
      update_input();
      update_socket();
    }
    if (!m_peer_eof && ready(m_read_wants)) read_socket();
  }

  void read_socket() {
    IoResult r = m_stream.read(m_from_sock);
    if (r.blocked()) {
      if (r.status != m_read_wants) {
        m_read_wants = r.status;
        update_socket();
      }
      return;
    }
    m_read_wants = IoStatus::want_read;
    if (r.status == IoStatus::error) return fail(RelayStep::receive, r.error);
    if (r.status == IoStatus::eof) {
      // The peer is done sending; it may still read. Deliver the rest of the input, as
      // nc does, and end once it is sent and our side is shut down too.
      m_peer_eof = true;
      if (m_output_gone && !m_fin_pending) return stop();
      if (m_input_done && m_pending.empty() && !m_fin_pending) return finish(RelayEnd::peer_closed);
      update_socket();
      return;
    }
    m_result.received += r.bytes;
    if (m_output_gone) return;  // read only to be dropped
    if (!report(Direction::received, std::span<const char>(m_from_sock.data(), r.bytes))) return;
    IoResult w = write_all(m_out, std::span<const char>(m_from_sock.data(), r.bytes));
    if (!w.ok()) return output_failed(w.error);
    if (m_options.on_reply_line && m_from_sock[r.bytes - 1] == '\n') m_options.on_reply_line();
    if (m_input_done && m_pending.empty()) {  // silence counts from here
      m_last_activity = m_loop.now();
      arm_drain_timer();
    }
    update_socket();
  }

  // Writing the output failed. A reader that went away (EPIPE) ends the relay politely:
  // no more input, our end of data, and the peer's last bytes read and dropped, so that
  // closing does not reset the connection. Any other failure ends it at once.
  void output_failed(int error) {
    m_result.end = RelayEnd::failed;
    m_result.failed = RelayStep::write_output;
    m_result.error = error;
    if (error != EPIPE) return stop();
    m_output_gone = true;
    if (!m_input_done) {
      m_input_done = true;
      if (m_in >= 0) m_loop.remove(m_in);
    }
    m_pending = {};
    if (m_stall_timer != 0) m_loop.cancel_timer(m_stall_timer);
    m_stall_timer = 0;
    m_last_activity = m_loop.now();
    if (!m_fin_sent && !m_fin_pending) half_close();
    else arm_drain_timer();
    if (!m_stopped) update_socket();
  }

  void update_input() {
    if (m_input_done || m_in < 0) return;
    std::uint32_t ev = m_pending.empty() ? std::uint32_t{EPOLLIN} : 0u;
    if (ev == m_input_interest) return;
    m_loop.modify(m_in, ev, &m_input);
    m_input_interest = ev;
  }

  void update_socket() {
    if (m_stopped || !m_socket_registered) return;
    std::uint32_t ev = m_peer_eof ? 0u : interest_of(m_read_wants);
    if (!m_pending.empty() || m_fin_pending) ev |= interest_of(m_write_wants);
    if (ev == m_socket_interest) return;
    m_loop.modify(m_stream.fd(), ev, &m_socket);
    m_socket_interest = ev;
  }

  int m_in;
  const std::string& m_preset;
  Stream& m_stream;
  int m_out;
  const RelayOptions& m_options;
  EventLoop m_loop;
  std::vector<char> m_raw;      // --crlf: one read of the input
  std::vector<char> m_to_sock;  // the same, encoded (--crlf), on its way to the stream
  CrlfEncoder m_crlf;
  std::vector<char> m_from_sock;
  std::span<const char> m_pending;
  InputHandler m_input;
  SocketHandler m_socket;
  IoStatus m_read_wants = IoStatus::want_read;
  IoStatus m_write_wants = IoStatus::want_write;
  std::uint32_t m_socket_interest = EPOLLIN;
  std::uint32_t m_input_interest = EPOLLIN;
  bool m_socket_registered = false;
  bool m_input_done = false;
  bool m_fin_pending = false;
  bool m_fin_sent = false;
  bool m_peer_eof = false;       // the peer sent its end of data
  bool m_awaiting_acks = false;  // all is done but the peer's acknowledgement
  bool m_output_gone = false;    // out_fd's reader went away
  bool m_stopped = false;
  EventLoop::TimePoint m_last_write_progress;
  EventLoop::TimePoint m_last_activity;  // after the input: the last data read or bytes acked
  std::uint64_t m_last_unacknowledged = UINT64_MAX;
  EventLoop::TimerId m_timer = 0;
  EventLoop::TimerId m_stall_timer = 0;
  EventLoop::TimerId m_ack_timer = 0;
  RelayResult m_result;
};

}  // namespace

RelayResult relay(int in_fd, const std::string& preset_input, Stream& stream, int out_fd,
                  const RelayOptions& options) {
  Relay r(in_fd, preset_input, stream, out_fd, options);
  return r.run();
}

}  // namespace sockecho::net
