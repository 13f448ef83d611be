#include "net/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sockecho::net {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The longest Unix path sockaddr_un holds with its terminating NUL (an abstract name has
// no NUL, but its leading NUL takes the place of the '@').
constexpr std::size_t k_max_unix_path = sizeof(sockaddr_un{}.sun_path) - 1;

struct Split {
  std::string host;
  std::optional<std::string_view> port;  // the text after the host's colon
};

// Where the host ends and the port begins, for every form parse_host_port takes.
Split split_host(std::string_view text) {
  if (text.empty()) throw ParseError("empty address");
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) throw ParseError("missing ']' after IPv6 address");
    Split s{std::string(text.substr(1, close - 1)), std::nullopt};
    if (s.host.empty()) throw ParseError("empty IPv6 address in brackets");
    HostKind kind = host_kind(s.host);
    if (kind != HostKind::ipv6 && kind != HostKind::v4_mapped)
      throw ParseError("only an IPv6 address goes in brackets");
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return s;
    if (rest.front() != ':') throw ParseError("expected ':PORT' after ']'");
    s.port = rest.substr(1);
    return s;
  }
  std::size_t first = text.find(':');
  if (first == std::string_view::npos) return {std::string(text), std::nullopt};
  // Two or more colons: a bare IPv6 literal, which cannot carry a port ("::1:80" would be
  // ambiguous); anything else with colons is a typo, not a name to look up.
  if (text.find(':', first + 1) != std::string_view::npos) {
    std::size_t scope = text.find('%');
    if (scope != std::string_view::npos && text.find(':', scope) != std::string_view::npos)
      throw ParseError("a port after a scoped IPv6 address needs brackets: [addr%scope]:port");
    HostKind kind = host_kind(text);
    if (kind != HostKind::ipv6 && kind != HostKind::v4_mapped)
      throw ParseError("not an IPv6 address; with a port, write [addr]:port");
    return {std::string(text), std::nullopt};
  }
  if (first == 0) throw ParseError("missing host before ':'");
  return {std::string(text.substr(0, first)), text.substr(first + 1)};
}

}  // namespace

unsigned long long parse_number(std::string_view text, unsigned long long lo, unsigned long long hi,
                                int base) {
  // from_chars takes no sign, space or prefix, so digits are all it reads; a number too
  // big for the type is out of range like any other.
  unsigned long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ptr != text.data() + text.size() || ec == std::errc::invalid_argument)
    throw ParseError("not a whole number");
  if (ec == std::errc::result_out_of_range || value < lo || value > hi)
    throw ParseError(fmt::format("out of range ({}-{})", lo, hi));
  return value;
}

std::uint16_t parse_port(std::string_view text, PortRules rules) {
  if (text.empty()) throw ParseError("empty port");
  std::uint16_t port = 0;
  if (all_digits(text)) {
    try {
      port = static_cast<std::uint16_t>(parse_number(text, 0, 65535));
    } catch (const ParseError&) {
      throw ParseError("port out of range (0-65535)");
    }
  } else if (auto service = lookup_service(text, rules.type)) {
    port = *service;
  } else {
    throw ParseError(
        fmt::format("not a port number or a {} service name", service_protocol(rules.type)));
  }
  if (port == 0 && rules.use == PortUse::connect) throw ParseError("port 0 cannot be connected to");
  return port;
}

std::vector<std::uint16_t> parse_port_list(std::string_view text, SockType type) {
  if (text.empty()) throw ParseError("empty port");
  const PortRules rules{type, PortUse::connect};
  std::vector<std::uint16_t> ports;
  std::vector<bool> seen(65536, false);
  auto add = [&](std::uint16_t p) {
    if (!seen[p]) {
      seen[p] = true;
      ports.push_back(p);
    }
  };
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) throw ParseError("empty item in port list");
    // A range is two numbers; an item with a dash that does not start with digits is a
    // service name ("x11-ssh").
    std::size_t dash = item.find('-');
    if (dash != std::string_view::npos && all_digits(item.substr(0, dash))) {
      std::string_view hi_text = item.substr(dash + 1);
      if (!all_digits(hi_text)) throw ParseError("a port range is LO-HI, two port numbers");
      std::uint16_t lo = parse_port(item.substr(0, dash), rules);
      std::uint16_t hi = parse_port(hi_text, rules);
      if (lo > hi) throw ParseError("port range runs backwards");
      for (unsigned p = lo; p <= hi; ++p) add(static_cast<std::uint16_t>(p));
    } else {
      add(parse_port(item, rules));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ports;
}

HostPort parse_host_port(std::string_view text, PortRules rules) {
  Split s = split_host(text);
  if (!s.port) return {s.host, std::nullopt};
  return {s.host, parse_port(*s.port, rules)};
}

HostPorts parse_host_ports(std::string_view text, SockType type) {
  Split s = split_host(text);
  if (!s.port) return {s.host, {}};
  return {s.host, parse_port_list(*s.port, type)};
}

std::string parse_host(std::string_view text) {
  Split s = split_host(text);
  if (s.port) throw ParseError("an address alone, without a port, goes here (the port goes in -p)");
  return s.host;
}

std::string parse_unix_path(std::string_view text) {
  if (text.empty()) throw ParseError("empty path");
  if (text == "@") throw ParseError("empty abstract socket name after '@'");
  if (text.find('\0') != std::string_view::npos) throw ParseError("NUL byte in a path");
  if (text.size() > k_max_unix_path)
    throw ParseError(fmt::format("too long for a Unix socket (at most {} bytes)", k_max_unix_path));
  return std::string(text);
}

HostKind host_kind(std::string_view host) {
  std::string literal(host.substr(0, host.find('%')));
  in_addr v4{};
  if (literal.size() == host.size() && ::inet_pton(AF_INET, literal.c_str(), &v4) == 1)
    return HostKind::ipv4;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, literal.c_str(), &v6) != 1) return HostKind::name;
  return IN6_IS_ADDR_V4MAPPED(&v6) ? HostKind::v4_mapped : HostKind::ipv6;
}

}  // namespace sockecho::net
