#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.h"

namespace sockecho::net {

// An IPv4 or IPv6 prefix, "10.0.0.0/8", "::1/128", "127.0.0.1" (a host).
struct Cidr {
  int family = 0;                  // AF_INET or AF_INET6
  std::uint8_t bytes[16] = {};     // network byte order; only the first 4 for IPv4
  unsigned prefix = 0;             // 0..32 or 0..128

  bool contains(const Address& address) const;
  std::string to_string() const;
};

// Throws ParseError.
Cidr parse_cidr(std::string_view text);

// Who may talk to the service: a denied peer never may; when there are allow rules, only
// a peer one of them matches may. IPv4 peers of a dual-stack socket (::ffff:a.b.c.d) are
// matched as IPv4. Unix-domain peers are not subject to the list (file modes are).
class AccessList {
 public:
  void allow(const Cidr& c) { m_allow.push_back(c); }
  void deny(const Cidr& c) { m_deny.push_back(c); }
  bool empty() const { return m_allow.empty() && m_deny.empty(); }
  bool permits(const Address& peer) const;

 private:
  std::vector<Cidr> m_allow;
  std::vector<Cidr> m_deny;
};

}  // namespace sockecho::net
