#include "net/socket.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "net/sys.h"

namespace sockecho::net {
namespace {

void set_flag(int fd, int level, int name, bool on, const char* what) {
  int v = on ? 1 : 0;
  if (::setsockopt(fd, level, name, &v, sizeof v) < 0) throw_errno(what);
}

}  // namespace

Fd open_socket(int family, SockType type) {
  Fd fd(::socket(family, socket_type(type) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  return fd;
}

Fd open_listener(const Address& address, SockType type, const ListenOptions& options) {
  Fd fd = open_socket(address.family(), type);
  if (address.is_inet()) {
    // SO_REUSEADDR lets a restarted server bind past TIME_WAIT; it does not let two
    // live listeners share a port on Linux, so "port in use" stays an error.
    if (type == SockType::stream) set_flag(fd.get(), SOL_SOCKET, SO_REUSEADDR, true, "SO_REUSEADDR");
    if (options.reuseport) set_flag(fd.get(), SOL_SOCKET, SO_REUSEPORT, true, "SO_REUSEPORT");
    if (address.family() == AF_INET6)
      set_flag(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, options.v6only, "IPV6_V6ONLY");
  }
  if (::bind(fd.get(), address.get(), address.size()) < 0)
    throw_errno(fmt::format("bind {}", address));
  if (type == SockType::stream && ::listen(fd.get(), options.backlog) < 0)
    throw_errno(fmt::format("listen {}", address));
  return fd;
}

std::uint32_t queued_in(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCINQ, &n) == 0 && n > 0 ? static_cast<std::uint32_t>(n) : 0;
}

std::uint32_t queued_out(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0 ? static_cast<std::uint32_t>(n) : 0;
}

std::optional<TcpStats> tcp_stats(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return std::nullopt;
  return TcpStats{info.tcpi_rtt, info.tcpi_rttvar, info.tcpi_total_retrans, info.tcpi_snd_cwnd};
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

}  // namespace sockecho::net
