#include "net/relay.h"

#include <span>
#include <string_view>
#include <vector>

#include "net/event_loop.h"
#include "net/sys.h"
#include "net/transform.h"

namespace sockecho::net {
namespace {

constexpr std::size_t k_chunk = 64 * 1024;
static_assert(k_chunk >= k_min_read);

class Relay {
 public:
  Relay(int in_fd, const std::string& preset, Stream& stream, int out_fd, const RelayOptions& o)
      : m_in(in_fd), m_preset(preset), m_stream(stream), m_out(out_fd), m_options(o),
        m_to_sock(k_chunk), m_from_sock(k_chunk), m_input(*this), m_socket(*this) {}

  RelayResult run() {
    m_loop.add(m_stream.fd(), EPOLLIN, &m_socket);
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
    m_result.end = RelayEnd::failed;
    m_result.failed = step;
    m_result.error = error;
    stop();
  }

  void stop() {
    m_stopped = true;
    m_loop.stop();
  }

  // Keeps data to send; called only when nothing is pending.
  void queue(std::string_view data) {
    if (data.size() > m_to_sock.size()) m_to_sock.resize(data.size());
    std::copy(data.begin(), data.end(), m_to_sock.begin());
    m_pending = std::span<const char>(m_to_sock.data(), data.size());
    send_pending();
  }

  void send_pending() {
    while (!m_pending.empty()) {
      IoResult r = m_stream.write(m_pending);
      if (r.blocked()) {
        m_write_wants = r.status;
        break;
      }
      if (r.status == IoStatus::error) return fail(RelayStep::send, r.error);
      m_pending = m_pending.subspan(r.bytes);
      m_result.sent += r.bytes;
    }
  }

  void read_input() {
    if (m_stopped || m_input_done || !m_pending.empty()) return;
    IoResult r = read_some(m_in, m_to_sock);
    if (r.blocked()) return;
    if (r.status == IoStatus::error) return fail(RelayStep::read_input, r.error);
    if (r.status == IoStatus::eof) {
      end_input();
      return;
    }
    std::string_view chunk(m_to_sock.data(), r.bytes);
    m_pending = std::span<const char>(m_to_sock.data(), r.bytes);
    send_pending();
    if (m_stopped) return;
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
    IoResult r = m_stream.shutdown_write();
    m_fin_pending = r.blocked();
    if (r.blocked()) m_write_wants = r.status;
    // The peer had finished first: with our input delivered, both sides are done.
    if (m_peer_eof && !m_fin_pending) {
      m_result.end = RelayEnd::peer_closed;
      return stop();
    }
    // A failed shutdown means the peer is gone; reading says how, so it is not fatal here.
    arm_drain_timer();
  }

  void arm_drain_timer() {
    if (!m_options.drain_timeout) return;
    if (m_timer != 0) m_loop.cancel_timer(m_timer);
    m_timer = m_loop.add_timer(*m_options.drain_timeout, [this] {
      m_timer = 0;
      m_result.end = RelayEnd::drain_timeout;
      stop();
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
      if (m_input_done && m_pending.empty() && !m_fin_pending) {
        m_result.end = RelayEnd::peer_closed;
        return stop();
      }
      update_socket();
      return;
    }
    m_result.received += r.bytes;
    IoResult w = write_all(m_out, std::span<const char>(m_from_sock.data(), r.bytes));
    if (!w.ok()) return fail(RelayStep::write_output, w.error);
    if (m_options.on_reply_line && m_from_sock[r.bytes - 1] == '\n') m_options.on_reply_line();
    if (m_input_done && m_pending.empty()) arm_drain_timer();  // silence counts from here
    update_socket();
  }

  void update_input() {
    if (m_input_done || m_in < 0) return;
    std::uint32_t ev = m_pending.empty() ? std::uint32_t{EPOLLIN} : 0u;
    if (ev == m_input_interest) return;
    m_loop.modify(m_in, ev, &m_input);
    m_input_interest = ev;
  }

  void update_socket() {
    if (m_stopped) return;
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
  std::vector<char> m_to_sock;
  std::vector<char> m_from_sock;
  std::span<const char> m_pending;
  InputHandler m_input;
  SocketHandler m_socket;
  IoStatus m_read_wants = IoStatus::want_read;
  IoStatus m_write_wants = IoStatus::want_write;
  std::uint32_t m_socket_interest = EPOLLIN;
  std::uint32_t m_input_interest = EPOLLIN;
  bool m_input_done = false;
  bool m_fin_pending = false;
  bool m_peer_eof = false;  // the peer sent its end of data
  bool m_stopped = false;
  EventLoop::TimerId m_timer = 0;
  RelayResult m_result;
};

}  // namespace

RelayResult relay(int in_fd, const std::string& preset_input, Stream& stream, int out_fd,
                  const RelayOptions& options) {
  Relay r(in_fd, preset_input, stream, out_fd, options);
  return r.run();
}

}  // namespace sockecho::net
