#pragma once

// One SSL_CTX per role, built once at start-up from a TlsConfig: every certificate, key,
// CA file, ALPN list and version floor is loaded and checked here, so a connection costs
// only SSL_new. Failures throw TlsError with OpenSSL's reason (exit 1 for serve).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/certificate.h"
#include "net/tls_config.h"

using SSL_CTX = struct ssl_ctx_st;

namespace sockecho::net {

enum class TlsRole { server, client };

class TlsContext {
 public:
  // serve: config's --cert/--key, or a certificate made now for `names`
  // (net::generated_names). --cafile asks every client for a certificate.
  static std::shared_ptr<const TlsContext> server(const TlsConfig& config,
                                                  const std::vector<std::string>& names);
  // send and probe. With `report_untrusted` a failed verification does not stop the
  // handshake: the stream finishes it and reports the failure (probe shows the
  // certificate of an endpoint it does not trust); otherwise it aborts the handshake.
  static std::shared_ptr<const TlsContext> client(const TlsConfig& config, bool report_untrusted);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return m_ctx; }
  TlsRole role() const { return m_role; }
  const TlsConfig& config() const { return m_config; }
  bool report_untrusted() const { return m_report_untrusted; }
  // The certificate this side presents (serve's, for its LISTEN line); none for a client
  // without --cert.
  const std::optional<Fingerprint>& fingerprint() const { return m_fingerprint; }
  // The ALPN list in wire format (length-prefixed names).
  const std::string& alpn_wire() const { return m_alpn_wire; }

 private:
  TlsContext(TlsRole role, const TlsConfig& config);

  SSL_CTX* m_ctx = nullptr;
  TlsRole m_role;
  TlsConfig m_config;
  bool m_report_untrusted = false;
  std::optional<Fingerprint> m_fingerprint;
  std::string m_alpn_wire;
};

// The text form of a fingerprint, as serve prints it: "AB:CD:..." (upper-case pairs).
std::string fingerprint_text(const Fingerprint& fp);

}  // namespace sockecho::net
