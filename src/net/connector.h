#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "net/address.h"
#include "net/fd.h"
#include "net/resolver.h"
#include "net/stream.h"

namespace sockecho::net {

struct ConnectResult {
  Fd fd;            // connected (non-blocking) on success
  Address address;  // the address that answered, or the last one tried
  int error = 0;    // errno of the last failure; ETIMEDOUT when the deadline passed
  bool bind_failed = false;  // error is binding to the source address, not the connect
};

// Tries each address in order with a non-blocking connect, giving each up to timeout,
// and returns the first that connects. May block (poll) for up to timeout per address.
// For a datagram socket, connect only fixes the peer; it cannot fail on the network.
// With a source, each socket is bound to it first (bind_source); a failed bind ends the
// attempt at once, since every address would meet it: pass only addresses of the
// source's family (match_source).
ConnectResult connect_any(std::span<const Address> addresses, SockType type,
                          std::chrono::milliseconds timeout,
                          const std::optional<Address>& source = std::nullopt);

// -s/--source: binds fd (not yet connected) to source. A fixed port (not 0) is bound with
// SO_REUSEADDR, so that a connection of an earlier run still in TIME_WAIT there does not
// keep it. Throws fmt::system_error "bind to ADDR" with bind's errno (EADDRNOTAVAIL for an
// address this host does not have).
void bind_source(int fd, const Address& source);

// -s/--source's addresses: host (a name or a numeric address) resolved for the family
// and socket type, port as given (0: any). Throws std::system_error "bind to HOST" when
// the name does not resolve.
std::vector<Address> resolve_source(const std::string& host, std::uint16_t port, Family family,
                                    SockType type);

// A source for one target. A socket binds and connects within one family, so: the family
// of the first target address (in the target's order) that some source address shares,
// the first source address of that family, and the target addresses of that family.
struct SourcedTargets {
  Address source;
  std::vector<Address> targets;
};
// nullopt when the two have no family in common (an IPv4 source, an IPv6-only target).
std::optional<SourcedTargets> match_source(std::span<const Address> sources,
                                           std::span<const Address> targets);

// The error of a source with no family in common with the target: std::system_error
// "bind to ADDR: an IPv4 address, and the target has none", as bind would fail.
std::system_error source_family_error(const Address& source);

// Binds a fresh socket to source and closes it: a source this host does not have
// (EADDRNOTAVAIL), or a port in use or not ours to take, is found before anything is
// sent. Throws as bind_source.
void check_source(const Address& source, SockType type);

// How a source address is named in messages: "127.0.0.2", "[::1]", or with its port
// "127.0.0.3:5000".
std::string source_name(const Address& source);

// Closes with a reset (SO_LINGER 0) instead of a FIN: no TIME_WAIT is left on the local
// address and port, so a fixed source port can connect to the same peer again at once.
// Best effort: false where the kernel says no.
bool reset_on_close(int fd);

// Drives a stream's handshake to its end, waiting (poll) as it asks, for at most
// timeout in all: ok, or the failed step's result (ETIMEDOUT at the deadline).
IoResult handshake_within(Stream& stream, std::chrono::milliseconds timeout);

}  // namespace sockecho::net
