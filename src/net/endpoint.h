#pragma once

// The one grammar for what users type for an endpoint, used by serve's positional and
// --bind, send's and probe's TARGET, --port and --unix paths:
//
//   number   decimal digits only (no sign, no spaces)
//   port     a number 0-65535, or a service name from /etc/services for the transport
//            ("http" is 80 over tcp; "tftp" is 69 over udp only)
//   ports    port or LO-HI (numbers), comma-separated: "22,http,8000-8100"
//   host     a name, an IPv4 address, an IPv6 address bare or in brackets ("::1",
//            "[::1]", "[fe80::1%lo]"); only an IPv6 address goes in brackets
//   host:port, [v6]:port; a bare IPv6 address takes no port ("::1:80" is ambiguous)
//
// Failures throw ParseError whose what() says why without quoting the input, so the
// caller prefixes what was being parsed, as typed. Pure functions, except that a service
// name is looked up in /etc/services (lookup_service: local files, never the network).

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/resolver.h"

namespace sockecho::net {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The one number parser: digits in base 10 (8 for file modes), lo <= value <= hi.
// "not a whole number" / "out of range (lo-hi)".
unsigned long long parse_number(std::string_view text, unsigned long long lo, unsigned long long hi,
                                int base = 10);

// What a port is for: a listener may take 0 (the kernel picks a free port); a client
// cannot connect to port 0.
enum class PortUse { listen, connect };

struct PortRules {
  SockType type = SockType::stream;  // whose /etc/services entry a name means: tcp or udp
  PortUse use = PortUse::listen;
};

// The one port parser: a number or a service name.
std::uint16_t parse_port(std::string_view text, PortRules rules = {});

// "22,80,8000-8100" -> every port, in the order given, duplicates removed. Ports to
// connect to: 0 is refused.
std::vector<std::uint16_t> parse_port_list(std::string_view text, SockType type = SockType::stream);

struct HostPort {
  std::string host;                   // without brackets; never empty
  std::optional<std::uint16_t> port;  // absent when the text had no port
};

// "host:port", "[v6]:port", "[v6]", "host", "::1" (a bare IPv6 literal has no port).
HostPort parse_host_port(std::string_view text, PortRules rules = {});

struct HostPorts {
  std::string host;
  std::vector<std::uint16_t> ports;  // empty when the text had no port part
};

// As parse_host_port, with a port list after the colon: "host:22,80,8000-8100".
HostPorts parse_host_ports(std::string_view text, SockType type = SockType::stream);

// An address without a port (serve --bind): "127.0.0.1", "::1", "[::1]", "localhost".
// Returns the host without brackets.
std::string parse_host(std::string_view text);

// A Unix socket path, or "@name" in the abstract namespace; at most 107 bytes, what
// sockaddr_un holds with its terminating NUL.
std::string parse_unix_path(std::string_view text);

// What a host (without brackets) is, to hold it to -4/-6 before any lookup.
enum class HostKind {
  name,       // to be resolved
  ipv4,       // "127.0.0.1"
  ipv6,       // "::1", "fe80::1%lo"
  v4_mapped,  // "::ffff:127.0.0.1": IPv4 written as IPv6
};
HostKind host_kind(std::string_view host);

}  // namespace sockecho::net
