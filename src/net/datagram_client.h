#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "net/direction.h"

namespace sockecho::net {

enum class ExchangeStatus { reply, timeout, refused, failed };

struct Exchange {
  ExchangeStatus status = ExchangeStatus::reply;
  std::string reply;
  int error = 0;           // errno when failed or refused
  std::uint64_t sent = 0;  // bytes that went out, every attempt counted, whatever came of it
};

// -x: each datagram sent and each reply received, as it happens.
using DatagramHook = std::function<void(Direction, std::string_view)>;

// Sends datagram on a connected datagram socket and waits up to timeout for one reply,
// sending it again up to retries more times. An ICMP port-unreachable for it comes back
// as refused. May block (poll) for up to (retries + 1) * timeout. on_data may be empty.
Exchange exchange(int fd, std::string_view datagram, std::chrono::milliseconds timeout,
                  unsigned retries, const DatagramHook& on_data = {});

}  // namespace sockecho::net
