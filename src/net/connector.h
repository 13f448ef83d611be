#pragma once

#include <chrono>
#include <span>
#include <string>

#include "net/address.h"
#include "net/fd.h"
#include "net/resolver.h"
#include "net/stream.h"

namespace sockecho::net {

struct ConnectResult {
  Fd fd;            // connected (non-blocking) on success
  Address address;  // the address that answered, or the last one tried
  int error = 0;    // errno of the last failure; ETIMEDOUT when the deadline passed
};

// Tries each address in order with a non-blocking connect, giving each up to timeout,
// and returns the first that connects. May block (poll) for up to timeout per address.
// For a datagram socket, connect only fixes the peer; it cannot fail on the network.
ConnectResult connect_any(std::span<const Address> addresses, SockType type,
                          std::chrono::milliseconds timeout);

// Drives a stream's handshake to its end, waiting (poll) as it asks, for at most
// timeout in all: ok, or the failed step's result (ETIMEDOUT at the deadline).
IoResult handshake_within(Stream& stream, std::chrono::milliseconds timeout);

}  // namespace sockecho::net
