#include "net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>

#include "net/resolver.h"

using namespace sockecho::net;

TEST_CASE("net::Address prints IPv4 plainly and IPv6 in brackets") {
  auto v4 = resolve("127.0.0.1", 48763, Family::any, SockType::stream);
  REQUIRE(v4.size() == 1);
  CHECK(v4[0].to_string() == "127.0.0.1:48763");
  CHECK(v4[0].wildcard_peer() == "0.0.0.0:*");
  auto v6 = resolve("::1", 80, Family::any, SockType::stream);
  REQUIRE(v6.size() == 1);
  CHECK(v6[0].to_string() == "[::1]:80");
  CHECK(v6[0].wildcard_peer() == "[::]:*");
  CHECK(Address::ipv6_any(48763).to_string() == "[::]:48763");
  CHECK(Address::ipv4_any(0).to_string() == "0.0.0.0:0");
}

TEST_CASE("net::Address shows a v4-mapped IPv6 peer as IPv4, as netstat does") {
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(51514);
  REQUIRE(inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr) == 1);
  Address a(reinterpret_cast<const sockaddr*>(&s6), sizeof s6);
  CHECK(a.to_string() == "127.0.0.1:51514");
  CHECK(a.unmapped().family() == AF_INET);
  CHECK(a.port() == 51514);
}

TEST_CASE("net::Address keeps the IPv6 scope") {
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(22);
  s6.sin6_scope_id = 1;  // lo is interface 1
  REQUIRE(inet_pton(AF_INET6, "fe80::1", &s6.sin6_addr) == 1);
  Address a(reinterpret_cast<const sockaddr*>(&s6), sizeof s6);
  CHECK(a.to_string() == "[fe80::1%lo]:22");
}

TEST_CASE("net::Address names Unix paths and abstract sockets") {
  CHECK(Address::unix_path("/tmp/echo.sock").to_string() == "/tmp/echo.sock");
  CHECK(Address::unix_path("@echo").to_string() == "@echo");
  CHECK(Address::unix_path("@echo").family() == AF_UNIX);
}

TEST_CASE("net::Address set_port and equality") {
  Address a = Address::ipv4_any(1);
  Address b = Address::ipv4_any(2);
  CHECK_FALSE(a == b);
  b.set_port(1);
  CHECK(a == b);
}

TEST_CASE("net::resolve reports a bad name with getaddrinfo's words") {
  try {
    resolve("no such host.invalid", 1, Family::any, SockType::stream);
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("no such host.invalid") != std::string::npos);
  }
  CHECK_THROWS(resolve("::1", 1, Family::v4, SockType::stream));
}
