#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sockecho::net {

enum class ExchangeStatus { reply, timeout, refused, failed };

struct Exchange {
  ExchangeStatus status = ExchangeStatus::reply;
  std::string reply;
  int error = 0;  // errno when failed or refused
};

// Sends datagram on a connected datagram socket and waits up to timeout for one reply,
// sending it again up to retries more times. An ICMP port-unreachable for it comes back
// as refused. May block (poll) for up to (retries + 1) * timeout.
Exchange exchange(int fd, std::string_view datagram, std::chrono::milliseconds timeout,
                  unsigned retries);

}  // namespace sockecho::net
