#include "net/service.h"

#include <cstring>

#include "net/socket.h"

namespace sockecho::net {
namespace {

constexpr std::size_t k_max_pooled = 64;

}  // namespace

std::string protocol_name(SockType type, bool unix_domain) {
  if (unix_domain) return type == SockType::stream ? "unix" : "unixdg";
  return type == SockType::stream ? "tcp" : "udp";
}

report::Socket describe_socket(const std::string& proto, int fd, const Address& local,
                               const std::string& remote) {
  return report::Socket{proto, local.to_string(), remote, queued_in(fd), queued_out(fd)};
}

std::optional<report::TcpInfo> tcp_info_report(int fd) {
  auto s = tcp_stats(fd);
  if (!s) return std::nullopt;
  return report::TcpInfo{s->rtt_us / 1000.0, s->rttvar_us / 1000.0, s->retransmits, s->cwnd};
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
  if (m_free.empty()) return std::vector<char>(m_size);
  std::vector<char> b = std::move(m_free.back());
  m_free.pop_back();
  return b;
}

void BufferPool::give(std::vector<char>&& buffer) {
  if (m_free.size() < k_max_pooled && buffer.size() == m_size) m_free.push_back(std::move(buffer));
}

}  // namespace sockecho::net
