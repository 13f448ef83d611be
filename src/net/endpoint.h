#pragma once

// Parsing of what users type for an endpoint: ports, port lists, host:port.
// Pure functions; failures throw ParseError whose what() says why, without the input,
// so the caller can prefix what was being parsed.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sockecho::net {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct HostPort {
  std::string host;                  // without brackets; may be empty ("[]" is not allowed)
  std::optional<std::uint16_t> port;  // absent when the text had no port
};

// "0".."65535". allow_zero=false rejects 0 (a client cannot connect to port 0).
std::uint16_t parse_port(std::string_view text, bool allow_zero = true);

// "22,80,8000-8100" -> every port, in the order given, duplicates removed.
std::vector<std::uint16_t> parse_port_list(std::string_view text);

// "host:port", "[v6]:port", "[v6]", "host", "::1" (a bare IPv6 literal has no port).
HostPort parse_host_port(std::string_view text);

struct HostPorts {
  std::string host;
  std::vector<std::uint16_t> ports;  // empty when the text had no port part
};

// As parse_host_port, with a port list after the colon: "host:22,80,8000-8100".
HostPorts parse_host_ports(std::string_view text);

}  // namespace sockecho::net
