#pragma once

// What a finished TLS handshake agreed, as values: serve's ESTABLISHED extras, send -v,
// and probe's certificate check are all made of this.

#include <optional>
#include <string>

#include "net/certificate.h"

namespace sockecho::net {

// How the peer's certificate was judged.
enum class Verify {
  not_asked,  // serve without --cafile: clients are not asked for one
  ok,         // the chain and the name checked out
  skipped,    // -k
  pinned,     // --pin matched
  failed,     // see verify_error
};

struct TlsSession {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::string alpn;     // agreed protocol; empty when none
  std::string sni;      // the name the client asked for (serve); empty when none
  std::optional<CertificateInfo> peer;  // the peer's leaf certificate, when it sent one
  Verify verify = Verify::not_asked;
  std::string verify_error;  // "certificate has expired", with Verify::failed
};

}  // namespace sockecho::net
