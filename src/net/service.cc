#include "net/service.h"

#include <algorithm>
#include <new>

#include "net/sys.h"

namespace sockecho::net {
namespace {

constexpr std::size_t k_max_pooled = 64;

}  // namespace

Proto protocol_of(SockType type, bool unix_domain) {
  if (unix_domain) return type == SockType::stream ? Proto::unix_stream : Proto::unix_datagram;
  return type == SockType::stream ? Proto::tcp : Proto::udp;
}

SocketInfo socket_info(Proto proto, int fd, const Address& local, const Peer& remote) {
  // A Unix socket keeps nothing to send: a write puts the bytes straight into the peer's
  // receive queue (its Recv-Q). SIOCOUTQ there is the buffer memory those bytes are
  // charged (768 for a 3-byte message), not a count of bytes, so it is not shown.
  const bool unix_domain = proto == Proto::unix_stream || proto == Proto::unix_datagram;
  return SocketInfo{proto, local, remote, queued_in(fd), unix_domain ? 0u : queued_out(fd)};
}

ServiceStats& ServiceStats::operator+=(const ServiceStats& other) {
  clients += other.clients;
  refused += other.refused;
  rx += other.rx;
  tx += other.tx;
  messages += other.messages;
  errors += other.errors;
  seconds = std::max(seconds, other.seconds);
  return *this;
}

void for_each_line(std::string_view data, const std::function<void(std::string_view)>& fn) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    std::size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
    fn(data.substr(0, end));
    data.remove_prefix(end);
  }
}

std::vector<char> BufferPool::take() {
  if (fault_alloc()) throw std::bad_alloc();  // a test's failpoint: as if memory ran out
  if (m_free.empty()) return std::vector<char>(m_size);
  std::vector<char> b = std::move(m_free.back());
  m_free.pop_back();
  return b;
}

void BufferPool::give(std::vector<char>&& buffer) {
  if (m_free.size() < k_max_pooled && buffer.size() == m_size) m_free.push_back(std::move(buffer));
}

}  // namespace sockecho::net
