#pragma once

// What TLS was asked for, as plain values: filled by the command line, turned into one
// SSL_CTX per role at start-up (net/tls_context.h). No OpenSSL types here, so cli/ and
// report/ can hold it without linking the library.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sockecho::net {

enum class TlsVersion { v1_2, v1_3 };

// A certificate's SHA-256 fingerprint (of its DER encoding).
using Fingerprint = std::array<std::uint8_t, 32>;

struct TlsConfig {
  bool enabled = false;                   // --tls
  std::string cert_file;                  // --cert (PEM); serve: empty = generate one
  std::string key_file;                   // --key (PEM)
  std::string ca_file;                    // --cafile: serve asks clients for a certificate;
                                          // clients verify against it instead of the system's
  std::vector<std::string> alpn;          // --alpn a,b (serve: order of preference)
  TlsVersion min_version = TlsVersion::v1_2;  // --tls-min
  // Clients only.
  std::string servername;                 // --servername: checked name and SNI
  bool insecure = false;                  // -k, --insecure: no verification
  std::optional<Fingerprint> pin;         // --pin: exactly this certificate
  // serve only.
  std::chrono::milliseconds handshake_timeout{10'000};  // --handshake-timeout
};

}  // namespace sockecho::net
