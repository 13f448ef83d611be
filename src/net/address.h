#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sockecho::net {

// A socket address of any family (IPv4, IPv6, Unix), as a value.
class Address {
 public:
  Address() = default;
  Address(const sockaddr* sa, socklen_t len);

  static Address ipv4_any(std::uint16_t port);
  static Address ipv6_any(std::uint16_t port);
  // A Unix path; "@name" is the Linux abstract namespace.
  static Address unix_path(std::string_view path);
  static Address local_of(int fd);  // getsockname(2); throws on failure
  static Address peer_of(int fd);   // getpeername(2); throws on failure

  int family() const { return m_storage.ss_family; }
  bool is_inet() const { return family() == AF_INET || family() == AF_INET6; }
  bool empty() const { return m_len == 0; }
  std::uint16_t port() const;
  void set_port(std::uint16_t port);

  // An IPv4 address a dual-stack socket sees as ::ffff:a.b.c.d, as plain IPv4.
  Address unmapped() const;

  // Numeric host without brackets (IPv6 keeps its %scope), or the Unix path.
  std::string host() const;
  // "127.0.0.1:80", "[::1]:80", "[fe80::1%lo]:80", "/path", "@abstract".
  std::string to_string() const;
  // What netstat prints as the foreign address of a listener: "0.0.0.0:*", "[::]:*".
  std::string wildcard_peer() const;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&m_storage); }
  sockaddr* get_mutable() { return reinterpret_cast<sockaddr*>(&m_storage); }
  socklen_t size() const { return m_len; }
  socklen_t* size_mutable() {
    m_len = sizeof(m_storage);
    return &m_len;
  }

  friend bool operator==(const Address& a, const Address& b);

 private:
  sockaddr_storage m_storage{};
  socklen_t m_len = 0;
};

}  // namespace sockecho::net

template <>
struct fmt::formatter<sockecho::net::Address> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const sockecho::net::Address& a, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
  }
};
