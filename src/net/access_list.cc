#include "net/access_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "net/endpoint.h"

namespace sockecho::net {

Cidr parse_cidr(std::string_view text) {
  Cidr c;
  std::size_t slash = text.find('/');
  std::string addr(text.substr(0, slash));
  if (::inet_pton(AF_INET, addr.c_str(), c.bytes) == 1) {
    c.family = AF_INET;
    c.prefix = 32;
  } else if (::inet_pton(AF_INET6, addr.c_str(), c.bytes) == 1) {
    c.family = AF_INET6;
    c.prefix = 128;
  } else {
    throw ParseError("not an IPv4 or IPv6 address or prefix (e.g. 10.0.0.0/8, ::1/128)");
  }
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    unsigned max = c.prefix;
    if (len.empty() || len.size() > 3 ||
        !std::all_of(len.begin(), len.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      throw ParseError("prefix length is not a number");
    unsigned v = 0;
    for (char ch : len) v = v * 10 + static_cast<unsigned>(ch - '0');
    if (v > max) throw ParseError(fmt::format("prefix length over {}", max));
    c.prefix = v;
  }
  return c;
}

bool Cidr::contains(const Address& address) const {
  Address a = address.unmapped();
  if (a.family() != family) return false;
  const std::uint8_t* bytes_of =
      family == AF_INET
          ? reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr)
          : reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr);
  unsigned full = prefix / 8;
  if (std::memcmp(bytes_of, bytes, full) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes_of[full] & mask) == (bytes[full] & mask);
}

std::string Cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes, buf, sizeof buf);
  return fmt::format("{}/{}", buf, prefix);
}

bool AccessList::permits(const Address& peer) const {
  if (!peer.is_inet()) return true;
  auto matches = [&](const Cidr& c) { return c.contains(peer); };
  if (std::any_of(m_deny.begin(), m_deny.end(), matches)) return false;
  return m_allow.empty() || std::any_of(m_allow.begin(), m_allow.end(), matches);
}

}  // namespace sockecho::net
