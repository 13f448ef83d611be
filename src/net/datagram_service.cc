#include "net/datagram_service.h"

#include <sys/socket.h>

#include "net/sys.h"

namespace sockecho::net {
namespace {

// Larger than any UDP payload (65,507 bytes over IPv4), so MSG_TRUNC means the
// datagram really was cut, which only a huge Unix datagram can be.
constexpr std::size_t k_datagram_buffer = 65536 + 1;
constexpr int k_datagrams_per_wakeup = 64;

}  // namespace

DatagramService::DatagramService(EventLoop& loop, std::shared_ptr<Fd> socket,
                                 ServiceOptions options, EventSink sink, bool shared)
    : m_loop(loop),
      m_socket(std::move(socket)),
      m_shared(shared),
      m_options(std::move(options)),
      m_sink(std::move(sink)),
      m_local(Address::local_of(m_socket->get())),
      m_buffer(k_datagram_buffer),
      m_started(loop.now()) {}

void DatagramService::start() {
  if (m_options.report_connections)
    emit(ListenEvent{socket_info(m_options.proto, m_socket->get(), m_local, Peer{}), 0, std::nullopt});
  m_loop.add(m_socket->get(), EPOLLIN | (m_shared ? std::uint32_t{EPOLLEXCLUSIVE} : 0u), this);
}

void DatagramService::shutdown() {
  m_done = true;
  m_loop.stop();
}

void DatagramService::on_events(std::uint32_t) {
  for (int i = 0; i < k_datagrams_per_wakeup && !m_done; ++i) {
    Address peer;
    IoResult r = recv_datagram(m_socket->get(), m_buffer, peer.get_mutable(), peer.size_mutable());
    if (!r.ok()) {
      // ICMP errors from earlier replies surface here (ECONNREFUSED): not ours to act on.
      // Any other failure (ENOMEM, ENOBUFS) loses at most this datagram; the next wakeup
      // tries again.
      if (r.status == IoStatus::error && r.error != ECONNREFUSED) ++m_stats.errors;
      return;
    }
    std::size_t size = r.bytes;
    bool truncated = size > m_buffer.size();
    handle(std::span<char>(m_buffer.data(), std::min(size, m_buffer.size())), peer, truncated);
  }
}

void DatagramService::handle(std::span<char> datagram, const Address& peer, bool truncated) {
  if (!m_options.access.permits(peer)) {
    ++m_stats.refused;
    if (m_options.report_connections)
      emit(RefuseEvent{socket_info(m_options.proto, m_socket->get(), m_local, Peer{peer, std::nullopt}),
                       RefuseReason::denied, 0});
    return;
  }
  ++m_stats.messages;
  m_stats.rx += datagram.size();
  if (m_options.report_data)
    emit(DataEvent{Peer{peer, std::nullopt}, Direction::received,
                   std::string(datagram.data(), datagram.size())});
  if (truncated) ++m_stats.errors;  // a cut datagram is not answered: the reply would lie
  std::string_view text(datagram.data(), datagram.size());
  bool is_exit = is_word(text, m_options.exit_word);
  bool is_shutdown = is_word(text, m_options.shutdown_word);
  if (!truncated && !is_exit && !is_shutdown) {
    std::string original;
    if (m_options.report_messages) original.assign(text);
    apply_mode(m_options.mode, datagram);
    if (m_options.report_messages)
      emit(MessageEvent{m_options.proto, m_local, Peer{peer, std::nullopt}, std::move(original),
                        m_options.mode == Mode::discard ? std::string() : std::string(text)});
    if (m_options.mode != Mode::discard) {
      IoResult sent = send_datagram(m_socket->get(), datagram, peer.get(), peer.size());
      // A full send buffer drops the reply, as the network may: UDP promises no more.
      if (!sent.ok()) {
        ++m_stats.errors;
      } else {
        m_stats.tx += sent.bytes;
        if (m_options.report_data)
          emit(DataEvent{Peer{peer, std::nullopt}, Direction::sent,
                         std::string(datagram.data(), sent.bytes)});
      }
    }
  }
  if (is_shutdown && m_options.on_shutdown_word) {
    m_options.on_shutdown_word();
  } else if (is_shutdown || (m_options.once && !truncated)) {
    m_done = true;
    m_loop.stop();
  }
}

ServiceStats DatagramService::stats() const {
  ServiceStats s = m_stats;
  s.clients = 0;
  s.seconds = std::chrono::duration<double>(EventLoop::Clock::now() - m_started).count();
  return s;
}

}  // namespace sockecho::net
