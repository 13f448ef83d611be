#include "net/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <algorithm>

// Only numeric literals, loopback and localhost: nothing here may ask a name server.

using namespace sockecho::net;

namespace {

std::system_error resolve_error(const std::string& host, Family family) {
  try {
    resolve(host, 1, family, SockType::stream);
  } catch (const std::system_error& e) {
    return e;
  }
  FAIL("resolving " << host << " did not fail");
  return std::system_error(std::error_code());
}

bool all_of_family(const std::vector<Address>& v, int family) {
  return std::all_of(v.begin(), v.end(), [&](const Address& a) { return a.family() == family; });
}

}  // namespace

TEST_CASE("net::resolve gives a numeric host back as itself, with the port") {
  std::vector<Address> v4 = resolve("127.0.0.1", 48763, Family::any, SockType::stream);
  REQUIRE(v4.size() == 1);
  CHECK(v4[0].to_string() == "127.0.0.1:48763");
  std::vector<Address> v6 = resolve("::1", 80, Family::any, SockType::datagram);
  REQUIRE(v6.size() == 1);
  CHECK(v6[0].to_string() == "[::1]:80");
}

TEST_CASE("net::resolve holds numeric hosts to the family asked for") {
  CHECK(resolve("127.0.0.1", 1, Family::v4, SockType::stream).size() == 1);
  CHECK(resolve("::1", 1, Family::v6, SockType::stream).size() == 1);
  std::system_error e = resolve_error("::1", Family::v4);
  CHECK(e.code().category() == gai_category());
  e = resolve_error("127.0.0.1", Family::v6);
  CHECK(e.code().category() == gai_category());
}

TEST_CASE("net::resolve of localhost keeps to the family filter") {
  std::vector<Address> v4 = resolve("localhost", 7, Family::v4, SockType::stream);
  REQUIRE_FALSE(v4.empty());
  CHECK(all_of_family(v4, AF_INET));
  CHECK(std::find_if(v4.begin(), v4.end(),
                     [](const Address& a) { return a.to_string() == "127.0.0.1:7"; }) != v4.end());
  std::vector<Address> any = resolve("localhost", 7, Family::any, SockType::stream);
  CHECK(any.size() >= v4.size());
}

TEST_CASE("net::resolve with passive and no host gives the wildcard") {
  std::vector<Address> v4 = resolve("", 0, Family::v4, SockType::stream, true);
  REQUIRE(v4.size() == 1);
  CHECK(v4[0].to_string() == "0.0.0.0:0");
}

TEST_CASE("net::resolve reports getaddrinfo errors in their own category with the host") {
  std::system_error e = resolve_error("::1", Family::v4);  // numeric: no name server asked
  CHECK(e.code().category() == gai_category());
  CHECK(std::string(e.code().category().name()) == "getaddrinfo");
  CHECK(std::string(e.what()) == "::1: " + gai_category().message(e.code().value()));
  CHECK(gai_category().message(EAI_NONAME) == ::gai_strerror(EAI_NONAME));
}

TEST_CASE("net::lookup_service finds /etc/services entries for the protocol") {
  CHECK(lookup_service("http", SockType::stream) == 80);
  CHECK(lookup_service("www", SockType::stream) == 80);
  CHECK(lookup_service("ssh", SockType::stream) == 22);
  CHECK(lookup_service("domain", SockType::datagram) == 53);
  CHECK(lookup_service("tftp", SockType::datagram) == 69);
  CHECK_FALSE(lookup_service("tftp", SockType::stream).has_value());
  CHECK_FALSE(lookup_service("no-such-service", SockType::stream).has_value());
  CHECK_FALSE(lookup_service("", SockType::stream).has_value());
  CHECK_FALSE(lookup_service(std::string_view("http\0x", 6), SockType::stream).has_value());
  CHECK(std::string(service_protocol(SockType::datagram)) == "udp");
}
