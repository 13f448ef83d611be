#include "net/socket.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>  // SIOCINQ/SIOCOUTQ are FIONREAD/TIOCOUTQ
#include <sys/socket.h>

#include <fmt/format.h>

#include "net/sys.h"

namespace sockecho::net {
namespace {

void set_flag(int fd, int level, int name, bool on, const char* what) {
  int v = on ? 1 : 0;
  SysResult r = sys::setsockopt(fd, level, name, &v, sizeof v);
  if (!r.ok()) throw_error(r.error, what);
}

std::uint32_t queued(int fd, unsigned long request) {
  int n = 0;
  return sys::ioctl(fd, request, &n).ok() && n > 0 ? static_cast<std::uint32_t>(n) : 0;
}

}  // namespace

Fd open_socket(int family, SockType type) {
  SysResult r = sys::socket(family, socket_type(type) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (!r.ok()) throw_error(r.error, "socket");
  return Fd(r.value);
}

bool set_no_delay(int fd) {
  int on = 1;
  return sys::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on).ok();
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
  if (SysResult r = sys::bind(fd.get(), address.get(), address.size()); !r.ok())
    throw_error(r.error, fmt::format("bind {}", address));
  if (type == SockType::stream) {
    if (SysResult r = sys::listen(fd.get(), options.backlog); !r.ok())
      throw_error(r.error, fmt::format("listen {}", address));
  }
  return fd;
}

std::uint32_t queued_in(int fd) { return queued(fd, SIOCINQ); }

std::uint32_t queued_out(int fd) { return queued(fd, SIOCOUTQ); }

std::optional<TcpStats> tcp_stats(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (!sys::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len).ok()) return std::nullopt;
  return TcpStats{info.tcpi_rtt, info.tcpi_rttvar, info.tcpi_total_retrans, info.tcpi_snd_cwnd};
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  SysResult r = sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return r.ok() ? err : r.error;
}

}  // namespace sockecho::net
