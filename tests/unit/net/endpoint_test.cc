#include "net/endpoint.h"

#include <catch2/catch.hpp>

using namespace sockecho::net;

TEST_CASE("net::parse_port accepts 0-65535 and nothing else") {
  CHECK(parse_port("0") == 0);
  CHECK(parse_port("48763") == 48763);
  CHECK(parse_port("65535") == 65535);
  CHECK(parse_port("00080") == 80);
  CHECK_THROWS_AS(parse_port("65536"), ParseError);
  CHECK_THROWS_AS(parse_port("70000"), ParseError);
  CHECK_THROWS_AS(parse_port("-1"), ParseError);
  CHECK_THROWS_AS(parse_port("abc"), ParseError);
  CHECK_THROWS_AS(parse_port(""), ParseError);
  CHECK_THROWS_AS(parse_port("80 "), ParseError);
  CHECK_THROWS_AS(parse_port("+80"), ParseError);
  CHECK_THROWS_AS(parse_port("99999999999999999999"), ParseError);
  CHECK_THROWS_AS(parse_port("0", false), ParseError);
}

TEST_CASE("net::parse_host_port splits host and port") {
  auto hp = parse_host_port("localhost:48763");
  CHECK(hp.host == "localhost");
  CHECK(hp.port == 48763);
  hp = parse_host_port("127.0.0.1:80");
  CHECK(hp.host == "127.0.0.1");
  CHECK(hp.port == 80);
  hp = parse_host_port("example.org");
  CHECK(hp.host == "example.org");
  CHECK_FALSE(hp.port.has_value());
}

TEST_CASE("net::parse_host_port takes IPv6 in brackets, or bare without a port") {
  auto hp = parse_host_port("[::1]:8080");
  CHECK(hp.host == "::1");
  CHECK(hp.port == 8080);
  hp = parse_host_port("[fe80::1%lo]:22");
  CHECK(hp.host == "fe80::1%lo");
  CHECK(hp.port == 22);
  hp = parse_host_port("[::1]");
  CHECK(hp.host == "::1");
  CHECK_FALSE(hp.port.has_value());
  hp = parse_host_port("::1");
  CHECK(hp.host == "::1");
  CHECK_FALSE(hp.port.has_value());
}

TEST_CASE("net::parse_host_port rejects malformed addresses") {
  CHECK_THROWS_AS(parse_host_port(""), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[]:80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1]80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1]:"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:"), ParseError);
  CHECK_THROWS_AS(parse_host_port(":80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:http"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:65536"), ParseError);
  CHECK_THROWS_AS(parse_host_port("::1:48389"), ParseError);  // needs brackets
  CHECK_THROWS_AS(parse_host_port("a:b:c"), ParseError);
  CHECK(parse_host_port("fe80::1%lo").host == "fe80::1%lo");
  CHECK_THROWS_AS(parse_host_port("fe80::1%lo:80"), ParseError);  // the port would be lost
}

TEST_CASE("net::parse_port_list expands lists and ranges") {
  CHECK(parse_port_list("22") == std::vector<std::uint16_t>{22});
  CHECK(parse_port_list("22,80,8000-8002") == std::vector<std::uint16_t>{22, 80, 8000, 8001, 8002});
  CHECK(parse_port_list("80,80,79-81") == std::vector<std::uint16_t>{80, 79, 81});
  CHECK(parse_port_list("1-65535").size() == 65535);
  CHECK_THROWS_AS(parse_port_list(""), ParseError);
  CHECK_THROWS_AS(parse_port_list("22,"), ParseError);
  CHECK_THROWS_AS(parse_port_list("90-80"), ParseError);
  CHECK_THROWS_AS(parse_port_list("0"), ParseError);
  CHECK_THROWS_AS(parse_port_list("1-70000"), ParseError);
}

TEST_CASE("net::parse_host_ports takes a port list after the host") {
  auto hp = parse_host_ports("localhost:22,80,8000-8002");
  CHECK(hp.host == "localhost");
  CHECK(hp.ports == std::vector<std::uint16_t>{22, 80, 8000, 8001, 8002});
  hp = parse_host_ports("[::1]:1-3");
  CHECK(hp.host == "::1");
  CHECK(hp.ports == std::vector<std::uint16_t>{1, 2, 3});
  hp = parse_host_ports("example.org");
  CHECK(hp.ports.empty());
  CHECK_THROWS_AS(parse_host_ports("h:80,70000"), ParseError);
  CHECK_THROWS_AS(parse_host_ports("h:90-80"), ParseError);
  CHECK_THROWS_AS(parse_host_ports("[::1:80"), ParseError);
}
