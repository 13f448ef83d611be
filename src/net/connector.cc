#include "net/connector.h"

#include <poll.h>
#include <sys/socket.h>

#include "net/socket.h"
#include "net/sys.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

int connect_one(int fd, const Address& address, std::chrono::milliseconds timeout) {
  if (::connect(fd, address.get(), address.size()) == 0) return 0;
  // EINTR on connect does not abort it: the handshake goes on, wait for it as for EINPROGRESS.
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return ETIMEDOUT;
    return pending_error(fd);
  }
}

}  // namespace

ConnectResult connect_any(std::span<const Address> addresses, SockType type,
                          std::chrono::milliseconds timeout) {
  ConnectResult result;
  result.error = EADDRNOTAVAIL;
  for (const Address& a : addresses) {
    result.address = a;
    Fd fd;
    try {
      fd = open_socket(a.family(), type);
    } catch (const std::system_error& e) {
      result.error = e.code().value();  // e.g. no IPv6 on this host: try the next address
      continue;
    }
    // A Unix datagram server can only answer a client that has an address.
    if (a.family() == AF_UNIX && type == SockType::datagram) autobind(fd.get());
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
