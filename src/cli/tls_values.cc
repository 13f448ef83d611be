#include "cli/tls_values.h"

#include <algorithm>
#include <cstddef>

#include "net/endpoint.h"

namespace sockecho::cli {
namespace {

using net::ParseError;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(),
                                                    [](char p, char t) { return p == lower(t); });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One label of a host name: letters, digits, hyphens, not at either end. An underscore is
// let through: it is in real internal host names, and a certificate either matches or not.
void check_label(std::string_view label) {
  if (label.empty()) throw ParseError("not a host name (an empty label)");
  if (label.size() > 63) throw ParseError("not a host name (a label longer than 63 bytes)");
  if (label.front() == '-' || label.back() == '-')
    throw ParseError("not a host name (a label begins or ends with '-')");
  for (char c : label) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok)
      throw ParseError(
          "not a host name (letters, digits, '-' and '.' only; an IDN in its xn-- form)");
  }
}

}  // namespace

net::Fingerprint parse_fingerprint(std::string_view text) {
  const ParseError bad("not a SHA-256 fingerprint (64 hex digits, colons optional)");
  for (std::string_view prefix : {"sha256=", "sha256:"})
    if (starts_with_nocase(text, prefix)) {
      text.remove_prefix(prefix.size());
      break;
    }
  net::Fingerprint fp{};
  std::size_t digits = 0;
  for (char c : text) {
    if (c == ':') continue;
    int v = hex_value(c);
    if (v < 0 || digits == 2 * fp.size()) throw bad;
    std::uint8_t& byte = fp[digits / 2];
    byte = static_cast<std::uint8_t>(byte << 4 | v);
    ++digits;
  }
  if (digits != 2 * fp.size()) throw bad;
  return fp;
}

std::vector<std::string> parse_alpn_list(std::string_view text) {
  if (text.empty()) throw ParseError("empty list (e.g. h2,http/1.1)");
  std::vector<std::string> names;
  std::size_t wire = 0;
  for (std::size_t at = 0;;) {
    std::size_t comma = text.find(',', at);
    std::string_view name =
        text.substr(at, comma == std::string_view::npos ? text.npos : comma - at);
    if (name.empty()) throw ParseError("an empty protocol name in the list");
    if (name.size() > 255) throw ParseError("a protocol name longer than 255 bytes");
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw ParseError("'" + std::string(name) + "' named twice");
    names.emplace_back(name);
    // The list goes on the wire behind a two-byte length.
    wire += 1 + name.size();
    if (wire > 0xffff) throw ParseError("list too long (at most 65535 bytes on the wire)");
    if (comma == std::string_view::npos) return names;
    at = comma + 1;
  }
}

net::TlsVersion parse_tls_version(std::string_view text) {
  std::string_view number = text;
  for (std::string_view prefix : {"tlsv", "tls"})
    if (starts_with_nocase(number, prefix)) {
      number.remove_prefix(prefix.size());
      break;
    }
  if (number == "1.2") return net::TlsVersion::v1_2;
  if (number == "1.3") return net::TlsVersion::v1_3;
  if (number == "1.0" || number == "1" || number == "1.1")
    throw ParseError("TLS 1.0 and 1.1 are not offered (1.2 or 1.3)");
  throw ParseError("not a TLS version (1.2 or 1.3)");
}

std::string parse_servername(std::string_view text) {
  if (text.empty()) throw ParseError("empty host name");
  std::string_view bare = text;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  if (net::host_kind(bare) != net::HostKind::name)
    throw ParseError("an IP address, not a host name (to check an address, put it in TARGET)");
  std::string_view name = text;
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  if (name.size() > 253) throw ParseError("not a host name (longer than 253 bytes)");
  std::string_view last;
  for (std::size_t at = 0;;) {
    std::size_t dot = name.find('.', at);
    last = name.substr(at, dot == std::string_view::npos ? name.npos : dot - at);
    check_label(last);
    if (dot == std::string_view::npos) break;
    at = dot + 1;
  }
  // "10.1" is no name either: a top-level domain is never all digits (RFC 3696 2).
  if (all_digits(last)) throw ParseError("not a host name (the last label is all digits)");
  return std::string(name);
}

}  // namespace sockecho::cli
