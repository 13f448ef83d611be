#include "net/address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

#include "net/sys.h"

namespace sockecho::net {
namespace {

const sockaddr_in& as_v4(const sockaddr_storage& s) {
  return *reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6& as_v6(const sockaddr_storage& s) {
  return *reinterpret_cast<const sockaddr_in6*>(&s);
}

}  // namespace

Address::Address(const sockaddr* sa, socklen_t len) {
  if (len > sizeof(m_storage)) len = sizeof(m_storage);
  std::memcpy(&m_storage, sa, len);
  m_len = len;
}

Address Address::ipv4_any(std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_ANY);
  sin.sin_port = htons(port);
  return Address(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

Address Address::ipv6_any(std::uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_any;
  sin6.sin6_port = htons(port);
  return Address(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

Address Address::unix_path(std::string_view path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::size_t n = std::min(path.size(), sizeof(sun.sun_path) - 1);
  std::memcpy(sun.sun_path, path.data(), n);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  if (!path.empty() && path[0] == '@') {
    sun.sun_path[0] = '\0';  // abstract: no terminating NUL, the length says where it ends
  } else {
    len += 1;
  }
  return Address(reinterpret_cast<const sockaddr*>(&sun), len);
}

Address Address::local_of(int fd) {
  Address a;
  if (SysResult r = sys::getsockname(fd, a.get_mutable(), a.size_mutable()); !r.ok())
    throw_error(r.error, "getsockname");
  return a;
}

Address Address::peer_of(int fd) {
  Address a;
  if (SysResult r = sys::getpeername(fd, a.get_mutable(), a.size_mutable()); !r.ok())
    throw_error(r.error, "getpeername");
  return a;
}

std::uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(as_v4(m_storage).sin_port);
  if (family() == AF_INET6) return ntohs(as_v6(m_storage).sin6_port);
  return 0;
}

void Address::set_port(std::uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&m_storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&m_storage)->sin6_port = htons(port);
}

Address Address::unmapped() const {
  if (family() != AF_INET6) return *this;
  const sockaddr_in6& s6 = as_v6(m_storage);
  if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) return *this;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = s6.sin6_port;
  std::memcpy(&sin.sin_addr, &s6.sin6_addr.s6_addr[12], 4);
  return Address(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

std::string Address::host() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &as_v4(m_storage).sin_addr, buf, sizeof buf);
      return buf;
    case AF_INET6: {
      const sockaddr_in6& s6 = as_v6(m_storage);
      ::inet_ntop(AF_INET6, &s6.sin6_addr, buf, sizeof buf);
      std::string out = buf;
      if (s6.sin6_scope_id != 0) {
        char ifname[IF_NAMESIZE] = {};
        out += '%';
        out += ::if_indextoname(s6.sin6_scope_id, ifname) ? std::string(ifname)
                                                          : std::to_string(s6.sin6_scope_id);
      }
      return out;
    }
    case AF_UNIX: {
      const auto& sun = *reinterpret_cast<const sockaddr_un*>(&m_storage);
      std::size_t off = offsetof(sockaddr_un, sun_path);
      if (m_len <= off) return "";  // unnamed (an unbound client)
      std::size_t n = m_len - off;
      if (sun.sun_path[0] == '\0') return "@" + std::string(sun.sun_path + 1, n - 1);
      return std::string(sun.sun_path, strnlen(sun.sun_path, n));
    }
    default:
      return "?";
  }
}

std::string Address::to_string() const {
  Address plain = unmapped();
  switch (plain.family()) {
    case AF_INET:
      return fmt::format("{}:{}", plain.host(), plain.port());
    case AF_INET6:
      return fmt::format("[{}]:{}", plain.host(), plain.port());
    case AF_UNIX: {
      std::string h = plain.host();
      return h.empty() ? "*" : h;
    }
    default:
      return "?";
  }
}

std::string Address::wildcard_peer() const {
  switch (unmapped().family()) {
    case AF_INET:
      return "0.0.0.0:*";
    case AF_INET6:
      return "[::]:*";
    default:
      return "*";
  }
}

bool operator==(const Address& a, const Address& b) {
  return a.m_len == b.m_len && std::memcmp(&a.m_storage, &b.m_storage, a.m_len) == 0;
}

}  // namespace sockecho::net
