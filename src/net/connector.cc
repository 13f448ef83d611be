#include "net/connector.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>

#include "net/socket.h"
#include "net/sys.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

int poll_timeout(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INT_MAX));
}

int connect_one(int fd, const Address& address, std::chrono::milliseconds timeout) {
  SysResult c = sys::connect(fd, address.get(), address.size());
  if (c.ok()) return 0;
  if (c.error != EINPROGRESS) return c.error;
  pollfd p{fd, POLLOUT, 0};
  SysResult n = sys::poll(&p, 1, poll_timeout(timeout));
  if (!n.ok()) return n.error;
  if (n.value == 0) return ETIMEDOUT;
  return pending_error(fd);
}

}  // namespace

IoResult handshake_within(Stream& stream, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    IoResult r = stream.handshake();
    if (!r.blocked()) return r;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{stream.fd(), static_cast<short>(r.status == IoStatus::want_write ? POLLOUT : POLLIN), 0};
    SysResult n = sys::poll(&p, 1, poll_timeout(left));
    if (!n.ok()) return {IoStatus::error, 0, n.error};
    if (n.value == 0) return {IoStatus::error, 0, ETIMEDOUT};
  }
}

ConnectResult connect_any(std::span<const Address> addresses, SockType type,
                          std::chrono::milliseconds timeout) {
  ConnectResult result;
  result.error = EADDRNOTAVAIL;
  for (const Address& a : addresses) {
    result.address = a;
    Fd fd;
    try {
      fd = open_socket(a.family(), type);
      // A Unix datagram server can only answer a client that has an address.
      if (a.family() == AF_UNIX && type == SockType::datagram) autobind(fd.get());
    } catch (const std::system_error& e) {
      result.error = e.code().value();  // e.g. no IPv6 on this host: try the next address
      continue;
    }
    int err = connect_one(fd.get(), a, timeout);
    if (err == 0) {
      result.fd = std::move(fd);
      result.error = 0;
      return result;
    }
    result.error = err;
  }
  return result;
}

}  // namespace sockecho::net
