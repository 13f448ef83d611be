// net::parse_port, parse_port_list, parse_host_port, parse_host_ports on arbitrary text.
// Each must return or throw net::ParseError (with a one-line ASCII message that does not
// quote the input), and what they return must hold up:
// - parse_port: exactly the decimal value of an all-digit text in 0..65535 (1.. to
//   connect to), or the tcp port /etc/services gives any other text, else ParseError;
// - parse_port_list: ports in 1..65535, no duplicates, exactly the ports the items name
//   in the order given (checked against a re-implementation of the item grammar);
// - parse_host_port(s): a bracketed host is non-empty and has no ']'; an unbracketed host
//   with a port has no ':'; an unbracketed host with two colons is a bare IPv6 literal
//   with no port; the two functions agree on the host, and a port one returns is the
//   list the other returns; formatting the result back and parsing it gives it again.

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "net/endpoint.h"

using namespace sockecho;
using fuzz::check;
using fuzz::fail;

namespace {

std::string_view g_input;

void check_message(const net::ParseError& e, const char* fn) {
  std::string_view what = e.what();
  check(!what.empty(), std::string(fn) + ": ParseError with an empty message", g_input);
  check(fuzz::is_ascii_line(what),
        std::string(fn) + ": ParseError message is not one ASCII line: " + fuzz::quoted(what),
        g_input);
}

template <typename F>
auto call(const char* fn, F f) -> std::optional<decltype(f())> {
  try {
    return f();
  } catch (const net::ParseError& e) {
    check_message(e, fn);
    return std::nullopt;
  } catch (...) {
    fail(std::string(fn) + " threw something other than ParseError: " +
             fuzz::current_exception_text(),
         g_input);
  }
}

bool ref_all_digits(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The reference: a port is 1+ ASCII digits with a value up to 65535, or a tcp service name.
std::optional<unsigned> ref_port(std::string_view t, bool allow_zero) {
  if (t.empty()) return std::nullopt;
  unsigned long v = 0;
  if (ref_all_digits(t)) {
    for (char c : t) {
      v = v * 10 + static_cast<unsigned long>(c - '0');
      if (v > 65535) return std::nullopt;
    }
  } else if (auto service = net::lookup_service(t, net::SockType::stream)) {
    v = *service;
  } else {
    return std::nullopt;
  }
  if (v == 0 && !allow_zero) return std::nullopt;
  return static_cast<unsigned>(v);
}

// The reference: comma-separated items, each PORT or LO-HI (numbers, split at the first
// '-', LO <= HI), ports 1..65535, duplicates dropped keeping the first. An item with a
// dash and no digits before it is a PORT (a service name such as "x11-ssh").
std::optional<std::vector<std::uint16_t>> ref_port_list(std::string_view t) {
  std::vector<std::uint16_t> out;
  std::vector<bool> seen(65536, false);
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = t.find(',', start);
    std::string_view item =
        t.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::optional<unsigned> lo, hi;
    std::size_t dash = item.find('-');
    if (dash == std::string_view::npos || !ref_all_digits(item.substr(0, dash))) {
      lo = hi = ref_port(item, false);
    } else if (ref_all_digits(item.substr(dash + 1))) {
      lo = ref_port(item.substr(0, dash), false);
      hi = ref_port(item.substr(dash + 1), false);
    }
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    for (unsigned p = *lo; p <= *hi; ++p) {
      if (!seen[p]) {
        seen[p] = true;
        out.push_back(static_cast<std::uint16_t>(p));
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string show(const std::vector<std::uint16_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size() && i < 20; ++i) s += (i ? "," : "") + std::to_string(v[i]);
  if (v.size() > 20) s += ",... (" + std::to_string(v.size()) + ")";
  return s + "]";
}

void check_port(std::string_view text) {
  for (bool allow_zero : {true, false}) {
    const net::PortRules rules{net::SockType::stream,
                               allow_zero ? net::PortUse::listen : net::PortUse::connect};
    auto got = call("parse_port", [&] { return net::parse_port(text, rules); });
    auto want = ref_port(text, allow_zero);
    if (got.has_value() != want.has_value() || (got && *got != *want))
      fail("parse_port(allow_zero=" + std::to_string(allow_zero) + ") gave " +
               (got ? std::to_string(*got) : "ParseError") + ", expected " +
               (want ? std::to_string(*want) : "ParseError"),
           text);
  }
}

void check_port_list(std::string_view text) {
  auto got = call("parse_port_list", [&] { return net::parse_port_list(text); });
  if (got) {
    std::vector<bool> seen(65536, false);
    for (std::uint16_t p : *got) {
      check(p != 0, "parse_port_list returned port 0", text);
      check(!seen[p], "parse_port_list returned port " + std::to_string(p) + " twice", text);
      seen[p] = true;
    }
    check(!got->empty(), "parse_port_list returned an empty list", text);
  }
  auto want = ref_port_list(text);
  if (got.has_value() != want.has_value() || (got && *got != *want))
    fail("parse_port_list gave " + (got ? show(*got) : std::string("ParseError")) +
             ", expected " + (want ? show(*want) : std::string("ParseError")),
         text);
}

bool is_ipv6_literal(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// What every successful parse of text into host (+ whether it had a port) must satisfy.
void check_host(std::string_view text, const std::string& host, bool has_port, const char* fn) {
  const std::string f = fn;
  if (text.front() == '[') {
    check(!host.empty(), f + ": bracketed host is empty", text);
    check(host.find(']') == std::string::npos, f + ": bracketed host contains ']'", text);
    check(text.substr(1, host.size()) == host, f + ": host is not the text inside the brackets",
          text);
    check(text.substr(1 + host.size(), 1) == "]", f + ": host does not end at the first ']'", text);
    check(has_port == (text.size() > host.size() + 2), f + ": port presence after ']' is wrong",
          text);
    return;
  }
  std::size_t colons = static_cast<std::size_t>(std::count(text.begin(), text.end(), ':'));
  if (colons >= 2) {
    check(!has_port, f + ": a bare IPv6 literal came back with a port", text);
    check(host == text, f + ": a bare IPv6 literal is not returned as typed", text);
    check(is_ipv6_literal(host.substr(0, host.find('%'))),
          f + ": accepted a host with two colons that is not an IPv6 literal", text);
  } else if (colons == 1) {
    check(has_port, f + ": 'host:port' came back without a port", text);
    check(!host.empty(), f + ": empty host before ':'", text);
    check(host.find(':') == std::string::npos, f + ": host with a port contains ':'", text);
    check(text.substr(0, host.size() + 1) == host + ":", f + ": host is not the text before ':'",
          text);
  } else {
    check(!has_port && host == text, f + ": a text without ':' is not returned as the host", text);
  }
}

void check_host_port(std::string_view text) {
  auto hp = call("parse_host_port", [&] { return net::parse_host_port(text); });
  auto hps = call("parse_host_ports", [&] { return net::parse_host_ports(text); });
  if (hp) check_host(text, hp->host, hp->port.has_value(), "parse_host_port");
  if (hps) check_host(text, hps->host, !hps->ports.empty(), "parse_host_ports");

  // Both split the text the same way; only the port grammar differs (one port, 0 allowed;
  // a list, 0 refused).
  if (hp && hps) {
    check(hp->host == hps->host, "parse_host_port and parse_host_ports disagree on the host",
          text);
    check(hp->port.has_value() == !hps->ports.empty(),
          "parse_host_port and parse_host_ports disagree on whether there is a port", text);
    if (hp->port)
      check(hps->ports.size() == 1 && hps->ports[0] == *hp->port,
            "parse_host_ports's list is not parse_host_port's port", text);
  }
  if (hp && !hps) check(hp->port == 0, "parse_host_ports refused what parse_host_port took with a non-zero port", text);
  if (hps && !hp)
    check(hps->ports.size() != 1 || hps->ports[0] == 0 || text.find_first_of(",-") != std::string_view::npos,
          "parse_host_port refused a single port parse_host_ports took", text);

  // Round trip.
  if (hp) {
    std::string again = text.front() == '[' ? "[" + hp->host + "]" : hp->host;
    if (hp->port) again += ":" + std::to_string(*hp->port);
    auto hp2 = call("parse_host_port", [&] { return net::parse_host_port(again); });
    check(hp2.has_value(), "parse_host_port refused its own result " + fuzz::quoted(again), text);
    check(hp2->host == hp->host && hp2->port == hp->port,
          "parse_host_port of its own result " + fuzz::quoted(again) + " differs", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  g_input = text;
  check_port(text);
  check_port_list(text);
  check_host_port(text);
  return 0;
}
