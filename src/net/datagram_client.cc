#include "net/datagram_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "net/sys.h"

namespace sockecho::net {
namespace {

constexpr std::size_t k_max_datagram = 65536;

}  // namespace

Exchange exchange(int fd, std::string_view datagram, std::chrono::milliseconds timeout,
                  unsigned retries, const DatagramHook& on_data) {
  thread_local std::vector<char> buffer(k_max_datagram);
  std::uint64_t sent = 0;
  auto failure = [&sent](int error) {
    return Exchange{error == ECONNREFUSED ? ExchangeStatus::refused : ExchangeStatus::failed, "",
                    error, sent};
  };
  for (unsigned attempt = 0; attempt <= retries; ++attempt) {
    IoResult s = send_some(fd, datagram);
    if (s.status == IoStatus::error) return failure(s.error);
    if (s.ok()) {
      sent += s.bytes;
      if (on_data) on_data(Direction::sent, datagram.substr(0, s.bytes));
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      SysResult n = sys::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
      if (!n.ok()) return {ExchangeStatus::failed, "", n.error, sent};
      if (n.value == 0) break;
      IoResult got = recv_datagram(fd, buffer, nullptr, nullptr);
      if (got.ok()) {
        std::string reply(buffer.data(), std::min(got.bytes, buffer.size()));
        if (on_data) on_data(Direction::received, reply);
        return {ExchangeStatus::reply, std::move(reply), 0, sent};
      }
      if (got.blocked()) continue;
      return failure(got.error);
    }
  }
  return {ExchangeStatus::timeout, "", ETIMEDOUT, sent};
}

}  // namespace sockecho::net
