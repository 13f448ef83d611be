#include "net/endpoint.h"

#include <catch2/catch.hpp>

#include <string>

using namespace sockecho::net;

namespace {

// The message a parse fails with, or "(no error)".
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ParseError& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr PortRules k_connect{SockType::stream, PortUse::connect};
constexpr PortRules k_udp{SockType::datagram, PortUse::listen};

}  // namespace

TEST_CASE("net::parse_number takes decimal digits within bounds and nothing else") {
  CHECK(parse_number("0", 0, 10) == 0);
  CHECK(parse_number("007", 0, 10) == 7);
  CHECK(parse_number("1000000000", 0, 1'000'000'000) == 1'000'000'000);
  CHECK(parse_number("0600", 0, 0777, 8) == 0600);
  for (const char* bad : {"", "abc", "-1", "+1", " 1", "1 ", "1.5", "0x10", "5x"})
    CHECK(error_of([&] { parse_number(bad, 0, 100); }) == "not a whole number");
  CHECK(error_of([&] { parse_number("101", 0, 100); }) == "out of range (0-100)");
  CHECK(error_of([&] { parse_number("0", 1, 100); }) == "out of range (1-100)");
  CHECK(error_of([&] { parse_number("99999999999999999999999", 1, 100); }) ==
        "out of range (1-100)");
  CHECK(error_of([&] { parse_number("0800", 0, 0777, 8); }) == "not a whole number");
}

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
  CHECK_THROWS_AS(parse_port("0", k_connect), ParseError);
}

TEST_CASE("net::parse_port says one thing per mistake") {
  CHECK(error_of([] { parse_port(""); }) == "empty port");
  CHECK(error_of([] { parse_port("70000"); }) == "port out of range (0-65535)");
  CHECK(error_of([] { parse_port("99999999999999999999", k_connect); }) ==
        "port out of range (0-65535)");
  CHECK(error_of([] { parse_port("0", k_connect); }) == "port 0 cannot be connected to");
  CHECK(error_of([] { parse_port_list("80,0"); }) == "port 0 cannot be connected to");
  CHECK(error_of([] { parse_host_port("h:0", k_connect); }) == "port 0 cannot be connected to");
  CHECK(error_of([] { parse_port("htp"); }) == "not a port number or a tcp service name");
  CHECK(error_of([] { parse_port("htp", k_udp); }) == "not a port number or a udp service name");
}

TEST_CASE("net::parse_port takes service names for the transport's protocol") {
  CHECK(parse_port("http") == 80);
  CHECK(parse_port("www") == 80);  // an alias
  CHECK(parse_port("ssh", k_connect) == 22);
  CHECK(parse_port("domain", k_udp) == 53);
  CHECK(parse_port("tftp", k_udp) == 69);
  CHECK_THROWS_AS(parse_port("tftp"), ParseError);  // udp only in /etc/services
  CHECK_THROWS_AS(parse_port("HTTP "), ParseError);
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
  hp = parse_host_port("localhost:http");
  CHECK(hp.host == "localhost");
  CHECK(hp.port == 80);
  CHECK(parse_host_port("[::1]:domain", k_udp).port == 53);
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
  hp = parse_host_port("[::ffff:127.0.0.1]:9");
  CHECK(hp.host == "::ffff:127.0.0.1");
  CHECK(hp.port == 9);
}

TEST_CASE("net::parse_host_port rejects malformed addresses") {
  CHECK_THROWS_AS(parse_host_port(""), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[]:80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1]80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("[::1]:"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:"), ParseError);
  CHECK_THROWS_AS(parse_host_port(":80"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:nosuchservice"), ParseError);
  CHECK_THROWS_AS(parse_host_port("host:65536"), ParseError);
  CHECK_THROWS_AS(parse_host_port("::1:48389"), ParseError);  // needs brackets
  CHECK_THROWS_AS(parse_host_port("a:b:c"), ParseError);
  CHECK(parse_host_port("fe80::1%lo").host == "fe80::1%lo");
  CHECK_THROWS_AS(parse_host_port("fe80::1%lo:80"), ParseError);  // the port would be lost
  CHECK(error_of([] { parse_host_port("[localhost]:80"); }) ==
        "only an IPv6 address goes in brackets");
  CHECK(error_of([] { parse_host_port("[127.0.0.1]:80"); }) ==
        "only an IPv6 address goes in brackets");
  CHECK(error_of([] { parse_host_port("host:"); }) == "empty port");
  CHECK(error_of([] { parse_host_port("[::1]:"); }) == "empty port");
  CHECK(error_of([] { parse_host_port("[::1"); }) == "missing ']' after IPv6 address");
}

TEST_CASE("net::parse_host takes an address without a port, brackets optional") {
  CHECK(parse_host("::1") == "::1");
  CHECK(parse_host("[::1]") == "::1");
  CHECK(parse_host("[fe80::1%lo]") == "fe80::1%lo");
  CHECK(parse_host("127.0.0.1") == "127.0.0.1");
  CHECK(parse_host("localhost") == "localhost");
  CHECK(parse_host("::") == "::");
  CHECK(error_of([] { parse_host("127.0.0.1:80"); }) ==
        "an address alone, without a port, goes here (the port goes in -p)");
  CHECK(error_of([] { parse_host("[::1]:80"); }) ==
        "an address alone, without a port, goes here (the port goes in -p)");
  CHECK_THROWS_AS(parse_host(""), ParseError);
  CHECK_THROWS_AS(parse_host("[::1"), ParseError);
  CHECK_THROWS_AS(parse_host("[localhost]"), ParseError);
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
  CHECK(error_of([] { parse_port_list("80-"); }) == "a port range is LO-HI, two port numbers");
  CHECK(error_of([] { parse_port_list("80-http"); }) == "a port range is LO-HI, two port numbers");
  CHECK(error_of([] { parse_port_list("90-80"); }) == "port range runs backwards");
}

TEST_CASE("net::parse_port_list takes service names as items, not as range ends") {
  CHECK(parse_port_list("ssh,http,8000-8001") == std::vector<std::uint16_t>{22, 80, 8000, 8001});
  CHECK(parse_port_list("domain,tftp", SockType::datagram) == std::vector<std::uint16_t>{53, 69});
  CHECK_THROWS_AS(parse_port_list("tftp"), ParseError);
  CHECK_THROWS_AS(parse_port_list("ssh-http"), ParseError);  // not a service, not a range
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
  CHECK(parse_host_ports("localhost:http,ssh").ports == std::vector<std::uint16_t>{80, 22});
  CHECK_THROWS_AS(parse_host_ports("h:80,70000"), ParseError);
  CHECK_THROWS_AS(parse_host_ports("h:90-80"), ParseError);
  CHECK_THROWS_AS(parse_host_ports("[::1:80"), ParseError);
  CHECK(error_of([] { parse_host_ports("h:"); }) == "empty port");
}

TEST_CASE("net::parse_unix_path takes a path or @name that fits sockaddr_un") {
  CHECK(parse_unix_path("/tmp/s.sock") == "/tmp/s.sock");
  CHECK(parse_unix_path("@name") == "@name");
  CHECK(parse_unix_path("relative") == "relative");
  CHECK(parse_unix_path(std::string(107, 'a')) == std::string(107, 'a'));
  CHECK(error_of([] { parse_unix_path(std::string(108, 'a')); }) ==
        "too long for a Unix socket (at most 107 bytes)");
  CHECK(error_of([] { parse_unix_path(""); }) == "empty path");
  CHECK(error_of([] { parse_unix_path("@"); }) == "empty abstract socket name after '@'");
}

TEST_CASE("net::host_kind tells names from IPv4, IPv6 and v4-mapped literals") {
  CHECK(host_kind("localhost") == HostKind::name);
  CHECK(host_kind("127.0.0.1") == HostKind::ipv4);
  CHECK(host_kind("::1") == HostKind::ipv6);
  CHECK(host_kind("fe80::1%lo") == HostKind::ipv6);
  CHECK(host_kind("::") == HostKind::ipv6);
  CHECK(host_kind("::ffff:127.0.0.1") == HostKind::v4_mapped);
  CHECK(host_kind("::FFFF:7f00:1") == HostKind::v4_mapped);
  CHECK(host_kind("127.0.0.1%lo") == HostKind::name);
  CHECK(host_kind("") == HostKind::name);
}
