#include "net/access_list.h"

#include <catch2/catch.hpp>

#include "net/endpoint.h"
#include "net/resolver.h"

using namespace sockecho::net;

namespace {

Address addr(const char* host) { return resolve(host, 1, Family::any, SockType::stream).front(); }

}  // namespace

TEST_CASE("net::parse_cidr reads prefixes and hosts") {
  CHECK(parse_cidr("10.0.0.0/8").to_string() == "10.0.0.0/8");
  CHECK(parse_cidr("127.0.0.1").to_string() == "127.0.0.1/32");
  CHECK(parse_cidr("::1").to_string() == "::1/128");
  CHECK(parse_cidr("fe80::/10").prefix == 10);
  CHECK(parse_cidr("0.0.0.0/0").prefix == 0);
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0/8", "host",
                          "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0/0008"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_cidr(bad), ParseError);
  }
}

TEST_CASE("net::Cidr matches by prefix, bit by bit") {
  CHECK(parse_cidr("127.0.0.0/8").contains(addr("127.1.2.3")));
  CHECK_FALSE(parse_cidr("127.0.0.0/8").contains(addr("128.0.0.1")));
  CHECK(parse_cidr("10.0.0.128/25").contains(addr("10.0.0.200")));
  CHECK_FALSE(parse_cidr("10.0.0.128/25").contains(addr("10.0.0.127")));
  CHECK(parse_cidr("0.0.0.0/0").contains(addr("192.0.2.1")));
  CHECK_FALSE(parse_cidr("0.0.0.0/0").contains(addr("::1")));  // families never mix
  CHECK(parse_cidr("::1/128").contains(addr("::1")));
  CHECK(parse_cidr("127.0.0.1/32").contains(addr("::ffff:127.0.0.1")));  // v4-mapped is IPv4
}

TEST_CASE("net::AccessList: deny wins, allow rules restrict, no rules permit") {
  AccessList open;
  CHECK(open.permits(addr("192.0.2.1")));
  AccessList l;
  l.allow(parse_cidr("127.0.0.0/8"));
  l.deny(parse_cidr("127.0.0.2"));
  CHECK(l.permits(addr("127.0.0.1")));
  CHECK_FALSE(l.permits(addr("127.0.0.2")));
  CHECK_FALSE(l.permits(addr("::1")));
  CHECK(l.permits(Address::unix_path("/tmp/x")));  // file modes govern Unix sockets
  AccessList d;
  d.deny(parse_cidr("::1"));
  CHECK_FALSE(d.permits(addr("::1")));
  CHECK(d.permits(addr("127.0.0.1")));
}
