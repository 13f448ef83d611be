#include "net/endpoint.h"

#include <algorithm>
#include <arpa/inet.h>

#include <charconv>

namespace sockecho::net {

std::uint16_t parse_port(std::string_view text, bool allow_zero) {
  if (text.empty()) throw ParseError("empty port");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw ParseError("not a port number");
  unsigned long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > 65535)
    throw ParseError("port out of range (0-65535)");
  if (value == 0 && !allow_zero) throw ParseError("port 0 is not a port one can connect to");
  return static_cast<std::uint16_t>(value);
}

std::vector<std::uint16_t> parse_port_list(std::string_view text) {
  if (text.empty()) throw ParseError("empty port list");
  std::vector<std::uint16_t> ports;
  std::vector<bool> seen(65536, false);
  auto add = [&](std::uint16_t p) {
    if (!seen[p]) {
      seen[p] = true;
      ports.push_back(p);
    }
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) throw ParseError("empty item in port list");
    std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      add(parse_port(item, false));
    } else {
      std::uint16_t lo = parse_port(item.substr(0, dash), false);
      std::uint16_t hi = parse_port(item.substr(dash + 1), false);
      if (lo > hi) throw ParseError("port range runs backwards");
      for (unsigned p = lo; p <= hi; ++p) add(static_cast<std::uint16_t>(p));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ports;
}

namespace {

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
    std::string literal(text.substr(0, scope));
    in6_addr scratch{};
    if (::inet_pton(AF_INET6, literal.c_str(), &scratch) != 1)
      throw ParseError("not an IPv6 address; with a port, write [addr]:port");
    return {std::string(text), std::nullopt};
  }
  if (first == 0) throw ParseError("missing host before ':'");
  return {std::string(text.substr(0, first)), text.substr(first + 1)};
}

}  // namespace

HostPort parse_host_port(std::string_view text) {
  Split s = split_host(text);
  if (!s.port) return {s.host, std::nullopt};
  return {s.host, parse_port(*s.port)};
}

HostPorts parse_host_ports(std::string_view text) {
  Split s = split_host(text);
  if (!s.port) return {s.host, {}};
  return {s.host, parse_port_list(*s.port)};
}

}  // namespace sockecho::net
