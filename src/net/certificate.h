#pragma once

// X.509 certificates as sockecho deals with them: the fields a TLS check reports, the
// fingerprint clients pin, and the throwaway certificate `serve --tls` makes for itself.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/tls_config.h"

using X509 = struct x509_st;
using EVP_PKEY = struct evp_pkey_st;

namespace sockecho::net {

struct X509Free {
  void operator()(X509* x) const noexcept;
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept;
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The leaf's fields, as values: what probe prints and send -v shows.
struct CertificateInfo {
  std::string subject;            // one line, RFC 2253 ("CN=localhost,O=Example")
  std::string issuer;
  std::vector<std::string> san;   // "DNS:name", "IP:addr", in the certificate's order
  std::int64_t not_before = 0;    // seconds since the epoch, UTC
  std::int64_t not_after = 0;
  Fingerprint sha256{};
};

CertificateInfo certificate_info(X509* cert);
Fingerprint fingerprint_of(X509* cert);

// A self-signed certificate and its key, made at start-up: ECDSA P-256 signed with
// SHA-256, valid from an hour before now to 30 days after, with a subjectAltName of
// every name in `names` (IP literals as IP entries). Throws TlsError.
struct SelfSigned {
  X509Ptr cert;
  PkeyPtr key;
};
SelfSigned make_self_signed(const std::vector<std::string>& names);

// The names a generated certificate covers: localhost, 127.0.0.1, ::1, the host name
// and the bind address (when it is not a wildcard), each once.
std::vector<std::string> generated_names(const std::string& bind_address);

}  // namespace sockecho::net
