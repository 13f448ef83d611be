#include "cli/tls_values.h"

#include <catch2/catch.hpp>

#include <string>

#include "net/endpoint.h"

using namespace sockecho;
using sockecho::cli::parse_alpn_list;
using sockecho::cli::parse_fingerprint;
using sockecho::cli::parse_servername;
using sockecho::cli::parse_tls_version;
using sockecho::net::ParseError;

namespace {

const std::string k_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string k_pairs =
    "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:"
    "10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F";

net::Fingerprint counting() {
  net::Fingerprint fp{};
  for (std::size_t i = 0; i < fp.size(); ++i) fp[i] = static_cast<std::uint8_t>(i);
  return fp;
}

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ParseError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli::parse_fingerprint reads serve's form, bare hex, and either prefix") {
  const net::Fingerprint want = counting();
  for (const std::string& text :
       {k_hex, k_pairs, "sha256=" + k_pairs, "SHA256=" + k_pairs, "sha256:" + k_hex,
        "Sha256:" + k_pairs, ":" + k_hex + ":", "0001:0203" + k_hex.substr(8),
        std::string("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")}) {
    INFO(text);
    CHECK(parse_fingerprint(text) == want);
  }
  net::Fingerprint ff{};
  ff.fill(0xff);
  CHECK(parse_fingerprint(std::string(64, 'f')) == ff);
}

TEST_CASE("cli::parse_fingerprint rejects what is not 64 hex digits") {
  for (const std::string& bad :
       {std::string(), std::string("xyz"), k_hex.substr(2), k_hex + "00", k_hex.substr(1),
        std::string("sha256="), "sha1=" + k_hex, "sha256 " + k_hex, " " + k_hex, k_hex + " ",
        "00-01" + k_hex.substr(4), "0g" + k_hex.substr(2), "sha256=sha256=" + k_hex,
        "sha256" + k_hex}) {
    INFO(bad);
    CHECK(error_of([&] { parse_fingerprint(bad); }) ==
          "not a SHA-256 fingerprint (64 hex digits, colons optional)");
  }
}

TEST_CASE("cli::parse_alpn_list splits at commas and keeps the order") {
  using V = std::vector<std::string>;
  CHECK(parse_alpn_list("h2") == V{"h2"});
  CHECK(parse_alpn_list("h2,http/1.1") == V{"h2", "http/1.1"});
  CHECK(parse_alpn_list("http/1.1,h2") == V{"http/1.1", "h2"});
  CHECK(parse_alpn_list(std::string(255, 'x')) == V{std::string(255, 'x')});
  CHECK(parse_alpn_list("a b,c") == V{"a b", "c"});  // opaque bytes, spaces included
}

TEST_CASE("cli::parse_alpn_list rejects empty, overlong and repeated names") {
  CHECK(error_of([] { parse_alpn_list(""); }) == "empty list (e.g. h2,http/1.1)");
  for (const char* bad : {",", "h2,", ",h2", "h2,,http/1.1"}) {
    INFO(bad);
    CHECK(error_of([&] { parse_alpn_list(bad); }) == "an empty protocol name in the list");
  }
  CHECK(error_of([] { parse_alpn_list("h2," + std::string(256, 'x')); }) ==
        "a protocol name longer than 255 bytes");
  CHECK(error_of([] { parse_alpn_list("h2,http/1.1,h2"); }) == "'h2' named twice");
  std::string many;
  for (int i = 0; i < 300; ++i) many += (i ? "," : "") + std::to_string(i) + std::string(250, 'x');
  CHECK(error_of([&] { parse_alpn_list(many); }) ==
        "list too long (at most 65535 bytes on the wire)");
}

TEST_CASE("cli::parse_tls_version takes 1.2 and 1.3 in either spelling") {
  for (const char* text : {"1.2", "TLSv1.2", "tlsv1.2", "TLS1.2"}) {
    INFO(text);
    CHECK(parse_tls_version(text) == net::TlsVersion::v1_2);
  }
  for (const char* text : {"1.3", "TLSv1.3", "tlsv1.3", "tls1.3"}) {
    INFO(text);
    CHECK(parse_tls_version(text) == net::TlsVersion::v1_3);
  }
  for (const char* old : {"1.0", "1.1", "TLSv1.1", "1"}) {
    INFO(old);
    CHECK(error_of([&] { parse_tls_version(old); }) ==
          "TLS 1.0 and 1.1 are not offered (1.2 or 1.3)");
  }
  for (const char* bad : {"", "1.4", "2", "TLSv", "v1.3", "1.3 ", "SSLv3", "13", "1,3"}) {
    INFO(bad);
    CHECK(error_of([&] { parse_tls_version(bad); }) == "not a TLS version (1.2 or 1.3)");
  }
}

TEST_CASE("cli::parse_servername takes host names, without a trailing dot") {
  CHECK(parse_servername("localhost") == "localhost");
  CHECK(parse_servername("example.org") == "example.org");
  CHECK(parse_servername("example.org.") == "example.org");
  CHECK(parse_servername("Mail-1.Example.ORG") == "Mail-1.Example.ORG");
  CHECK(parse_servername("xn--bcher-kva.example") == "xn--bcher-kva.example");
  CHECK(parse_servername("host_1.internal") == "host_1.internal");
  CHECK(parse_servername("123.example") == "123.example");
  CHECK(parse_servername(std::string(63, 'a') + ".org") == std::string(63, 'a') + ".org");
}

TEST_CASE("cli::parse_servername rejects addresses and what is not a host name") {
  CHECK(error_of([] { parse_servername(""); }) == "empty host name");
  for (const char* ip : {"127.0.0.1", "::1", "[::1]", "fe80::1%lo", "::ffff:10.0.0.1"}) {
    INFO(ip);
    CHECK(error_of([&] { parse_servername(ip); }) ==
          "an IP address, not a host name (to check an address, put it in TARGET)");
  }
  for (const char* bad : {"a..b", ".", ".example.org", "example.org..", "-a.org", "a-.org",
                          "a b.org", "b\u00fccher.example", "host:443", "*.example.org", "a/b"}) {
    INFO(bad);
    CHECK(error_of([&] { parse_servername(bad); }).rfind("not a host name (", 0) == 0);
  }
  CHECK(error_of([] { parse_servername(std::string(64, 'a') + ".org"); }) ==
        "not a host name (a label longer than 63 bytes)");
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  long_name += "org";
  CHECK(error_of([&] { parse_servername(long_name); }) ==
        "not a host name (longer than 253 bytes)");
  CHECK(error_of([] { parse_servername("10.1"); }) ==
        "not a host name (the last label is all digits)");
}
