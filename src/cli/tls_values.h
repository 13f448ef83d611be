#pragma once

// The values of the TLS flags, text to net::TlsConfig fields. Each throws net::ParseError
// saying why without quoting the input, as the address parsers do, so parse.cc can name the
// flag and the value the one way it names every other.

#include <string>
#include <string_view>
#include <vector>

#include "net/tls_config.h"

namespace sockecho::cli {

// --pin: 64 hex digits in either case, colons anywhere ignored, so serve's own
// "AB:CD:..." pastes as it is; a leading "sha256=" or "sha256:" (serve's key, or
// openssl's "sha256 Fingerprint=" with the part before the colon cut) is dropped too.
net::Fingerprint parse_fingerprint(std::string_view text);

// --alpn: "h2,http/1.1", names in the order given. Each name is 1 to 255 bytes (what one
// length byte holds on the wire); empty entries and a name given twice are mistakes.
std::vector<std::string> parse_alpn_list(std::string_view text);

// --tls-min: "1.2" or "1.3", or as OpenSSL prints them, "TLSv1.2" and "TLSv1.3" (any case,
// the "v" optional).
net::TlsVersion parse_tls_version(std::string_view text);

// --servername: a DNS host name, which is both the name the certificate is checked against
// and the SNI. IP literals are refused (SNI cannot carry one; an address in TARGET is
// checked as an address). One trailing dot is dropped: "example.org." is the same name.
std::string parse_servername(std::string_view text);

}  // namespace sockecho::cli
