#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>

#include "net/tls_error.h"

namespace sockecho::net {
namespace {

int version_of(TlsVersion v) { return v == TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

std::string wire_of(const std::vector<std::string>& names) {
  std::string wire;
  for (const std::string& n : names) {
    wire += static_cast<char>(n.size());
    wire += n;
  }
  return wire;
}

// serve's ALPN choice: its own list in order of preference, the first the client offers.
// A client that offers ALPN but none of ours is refused (no_application_protocol); a
// client that offers none never gets here, and is served.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* ctx = static_cast<const TlsContext*>(arg);
  for (const std::string& ours : ctx->config().alpn) {
    for (unsigned int i = 0; i < inlen;) {
      const unsigned len = in[i];
      if (i + 1 + len > inlen) break;
      if (len == ours.size() && std::memcmp(in + i + 1, ours.data(), len) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Where keep_going keeps the first error of a verification, in the X509_STORE_CTX that
// lives for that one verification; -1 if OpenSSL has no index to give.
int first_error_index() {
  static const int index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// probe reports an untrusted certificate instead of refusing it: verification runs in
// full and its result is read after the handshake (SSL_get_verify_result). That result is
// the store's error when verification ends, which without this would be the last one met,
// not the first: for a leaf from an unknown CA "unable to verify the first certificate"
// where send, which stops at the first, says "unable to get local issuer certificate".
// So the first error is kept and put back after every later step.
int keep_going(int ok, X509_STORE_CTX* store) {
  const int index = first_error_index();
  if (index < 0) return 1;
  auto first = reinterpret_cast<std::intptr_t>(X509_STORE_CTX_get_ex_data(store, index));
  if (first != 0) {
    X509_STORE_CTX_set_error(store, static_cast<int>(first));
  } else if (!ok) {
    first = X509_STORE_CTX_get_error(store);
    if (first != X509_V_OK)
      X509_STORE_CTX_set_ex_data(store, index, reinterpret_cast<void*>(first));
  }
  return 1;
}

void load(int ok, const std::string& what) {
  if (ok != 1) throw TlsError(what + ": " + openssl_reason());
}

}  // namespace

std::string openssl_reason(const char* fallback) {
  unsigned long e = ERR_get_error();
  unsigned long first = e;
  while (e != 0) e = ERR_get_error();
  if (first == 0) return fallback;
  // A failed system call (a missing file): OpenSSL 3 has no reason string for it, and its
  // error text would be "error:80000002:system library::No such file or directory".
  if (ERR_SYSTEM_ERROR(first)) return std::strerror(static_cast<int>(ERR_GET_REASON(first)));
  const char* reason = ERR_reason_error_string(first);
  if (reason) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

std::string fingerprint_text(const Fingerprint& fp) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(fp.size() * 3);
  for (std::uint8_t b : fp) {
    if (!out.empty()) out += ':';
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

TlsContext::TlsContext(TlsRole role, const TlsConfig& config) : m_role(role), m_config(config) {
  ERR_clear_error();
  m_ctx = SSL_CTX_new(role == TlsRole::server ? TLS_server_method() : TLS_client_method());
  if (!m_ctx) throw TlsError("TLS set-up: " + openssl_reason());
  SSL_CTX_set_min_proto_version(m_ctx, version_of(config.min_version));
  // A peer that closes without close_notify (most do) ends the data like a FIN, as over
  // TCP; the man page says what that gives up (truncation detection).
  SSL_CTX_set_options(m_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  // Replies are retried from the session's own queue, not always the same address; and
  // an idle connection should not keep OpenSSL's 34 KiB of record buffers.
  SSL_CTX_set_mode(m_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
  m_alpn_wire = wire_of(config.alpn);
}

TlsContext::~TlsContext() { SSL_CTX_free(m_ctx); }

std::shared_ptr<const TlsContext> TlsContext::server(const TlsConfig& config,
                                                     const std::vector<std::string>& names) {
  std::shared_ptr<TlsContext> t(new TlsContext(TlsRole::server, config));
  SSL_CTX* ctx = t->m_ctx;
  if (!config.cert_file.empty()) {
    load(SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()), "--cert " + config.cert_file);
    load(SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM),
         "--key " + config.key_file);
    load(SSL_CTX_check_private_key(ctx), "--key " + config.key_file);
  } else {
    SelfSigned made = make_self_signed(names);
    load(SSL_CTX_use_certificate(ctx, made.cert.get()), "generated certificate");
    load(SSL_CTX_use_PrivateKey(ctx, made.key.get()), "generated certificate");
  }
  t->m_fingerprint = fingerprint_of(SSL_CTX_get0_certificate(ctx));
  if (!config.ca_file.empty()) {
    load(SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr), "--cafile " + config.ca_file);
    STACK_OF(X509_NAME)* cas = SSL_load_client_CA_file(config.ca_file.c_str());
    if (cas) SSL_CTX_set_client_CA_list(ctx, cas);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (!config.alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, t.get());
  // Full handshakes are what a test service sees; a session cache would only hold memory.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return t;
}

std::shared_ptr<const TlsContext> TlsContext::client(const TlsConfig& config, bool report_untrusted) {
  std::shared_ptr<TlsContext> t(new TlsContext(TlsRole::client, config));
  SSL_CTX* ctx = t->m_ctx;
  t->m_report_untrusted = report_untrusted;
  if (!config.cert_file.empty()) {
    load(SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()), "--cert " + config.cert_file);
    load(SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM),
         "--key " + config.key_file);
    load(SSL_CTX_check_private_key(ctx), "--key " + config.key_file);
    t->m_fingerprint = fingerprint_of(SSL_CTX_get0_certificate(ctx));
  }
  // -k and --pin decide after the handshake, with no CA: they do not read the system's
  // bundle (parsing it costs tens of milliseconds at every start). Otherwise an untrusted
  // peer ends the handshake, unless probe wants to report what it saw.
  const bool uses_cas = !config.insecure && !config.pin;
  if (!config.ca_file.empty())
    load(SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr), "--cafile " + config.ca_file);
  else if (uses_cas)
    SSL_CTX_set_default_verify_paths(ctx);  // Debian's ca-certificates
  const bool strict = uses_cas && !report_untrusted;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, strict ? nullptr : keep_going);
  if (!t->m_alpn_wire.empty())
    load(SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(t->m_alpn_wire.data()),
                                 static_cast<unsigned>(t->m_alpn_wire.size())) == 0,
         "--alpn");
  return t;
}

}  // namespace sockecho::net
