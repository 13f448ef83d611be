#include "net/datagram_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "net/sys.h"

namespace sockecho::net {
namespace {

constexpr std::size_t k_max_datagram = 65536;

}  // namespace

Exchange exchange(int fd, std::string_view datagram, std::chrono::milliseconds timeout,
                  unsigned retries) {
  thread_local std::vector<char> buffer(k_max_datagram);
  for (unsigned attempt = 0; attempt <= retries; ++attempt) {
    IoResult s = send_some(fd, datagram);
    if (s.status == IoStatus::error)
      return {s.error == ECONNREFUSED ? ExchangeStatus::refused : ExchangeStatus::failed, "",
              s.error};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return {ExchangeStatus::failed, "", errno};
      if (n == 0) break;
      ssize_t got = retry_eintr([&] { return ::recv(fd, buffer.data(), buffer.size(), 0); });
      if (got >= 0) return {ExchangeStatus::reply, std::string(buffer.data(), static_cast<std::size_t>(got)), 0};
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return {errno == ECONNREFUSED ? ExchangeStatus::refused : ExchangeStatus::failed, "", errno};
    }
  }
  return {ExchangeStatus::timeout, "", ETIMEDOUT};
}

}  // namespace sockecho::net
