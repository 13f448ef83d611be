#pragma once

// Socket creation and the options the services need. Every fd is created
// SOCK_NONBLOCK | SOCK_CLOEXEC and handed back owned by an Fd.

#include <cstdint>
#include <optional>

#include "net/address.h"
#include "net/fd.h"
#include "net/resolver.h"

namespace sockecho::net {

struct ListenOptions {
  int backlog = 128;
  bool reuseport = false;  // SO_REUSEPORT only when asked: a port in use must be an error
  bool v6only = false;     // for an IPv6 wildcard: false means dual-stack
};

// socket + options + bind (+ listen for streams). Throws fmt::system_error with context,
// e.g. "bind [::]:48763: Address already in use".
Fd open_listener(const Address& address, SockType type, const ListenOptions& options);

// A fresh unbound socket for address's family.
Fd open_socket(int family, SockType type);

// TCP_NODELAY, for a TLS client: under TLS 1.3 its Finished is the handshake's last
// segment and a server with no session tickets to send (serve) answers it only with a
// delayed ACK, 40 ms later, behind which Nagle's algorithm holds the first data.
// Best effort: false (and nothing thrown) where the kernel says no.
bool set_no_delay(int fd);

// Bytes queued in the kernel (SIOCINQ / SIOCOUTQ); 0 when the kernel will not say.
std::uint32_t queued_in(int fd);
std::uint32_t queued_out(int fd);

// What the kernel knows of a TCP connection (TCP_INFO).
struct TcpStats {
  std::uint32_t rtt_us = 0;
  std::uint32_t rttvar_us = 0;
  std::uint32_t retransmits = 0;
  std::uint32_t cwnd = 0;
};
std::optional<TcpStats> tcp_stats(int fd);

// The error a non-blocking connect finished with (SO_ERROR).
int pending_error(int fd);

}  // namespace sockecho::net
