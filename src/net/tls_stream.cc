#include "net/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <new>

#include "net/tls_error.h"

namespace sockecho::net {
namespace {

// A BIO over the socket whose reads and writes go through net::sys, so failpoints and
// the errno discipline of the seam hold under TLS as well.
struct SeamBio {
  int fd;
  int* io_error;
  bool eof = false;  // the peer's FIN was read: BIO_CTRL_EOF says so, as a socket BIO does
};

SeamBio* seam_of(BIO* b) { return static_cast<SeamBio*>(BIO_get_data(b)); }

int seam_write(BIO* b, const char* data, std::size_t len, std::size_t* written) {
  BIO_clear_retry_flags(b);
  SeamBio* s = seam_of(b);
  IoResult r = send_some(s->fd, {data, len});
  if (r.ok()) {
    *written = r.bytes;
    return 1;
  }
  if (r.blocked()) BIO_set_retry_write(b);
  else *s->io_error = r.error ? r.error : EPIPE;
  return 0;
}

int seam_read(BIO* b, char* data, std::size_t len, std::size_t* read) {
  BIO_clear_retry_flags(b);
  SeamBio* s = seam_of(b);
  IoResult r = recv_some(s->fd, {data, len});
  if (r.ok()) {
    *read = r.bytes;
    return 1;
  }
  if (r.blocked()) BIO_set_retry_read(b);
  else if (r.status == IoStatus::error) *s->io_error = r.error;
  else s->eof = true;
  return 0;  // with no retry flag and no error: the peer's end of data
}

long seam_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return seam_of(b)->eof ? 1 : 0;
    default:
      return 0;
  }
}

int seam_destroy(BIO* b) {
  delete seam_of(b);
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* seam_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockecho seam");
    if (!m) return m;
    BIO_meth_set_write_ex(m, seam_write);
    BIO_meth_set_read_ex(m, seam_read);
    BIO_meth_set_ctrl(m, seam_ctrl);
    BIO_meth_set_destroy(m, seam_destroy);
    return m;
  }();
  return method;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::string alpn_of(SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

}  // namespace

TlsStream::TlsStream(Fd fd, std::shared_ptr<const TlsContext> context, const std::string& peer_name)
    : m_fd(std::move(fd)), m_context(std::move(context)) {
  ERR_clear_error();
  m_ssl = SSL_new(m_context->get());
  BIO* bio = seam_method() ? BIO_new(seam_method()) : nullptr;
  if (!m_ssl || !bio) {
    BIO_free(bio);
    ERR_clear_error();
    throw std::bad_alloc();
  }
  BIO_set_data(bio, new SeamBio{m_fd.get(), &m_io_error});
  BIO_set_init(bio, 1);
  SSL_set_bio(m_ssl, bio, bio);

  if (m_context->role() == TlsRole::server) {
    SSL_set_accept_state(m_ssl);
    return;
  }
  SSL_set_connect_state(m_ssl);
  const TlsConfig& c = m_context->config();
  const std::string& name = c.servername.empty() ? peer_name : c.servername;
  if (name.empty()) return;
  const bool ip = is_ip_literal(name);
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  if (!ip) m_sni = name;
  if (!ip)
    SSL_ctrl(m_ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
  if (c.insecure || c.pin) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(m_ssl);
  if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  else SSL_set1_host(m_ssl, name.c_str());
}

TlsStream::~TlsStream() { SSL_free(m_ssl); }

IoResult TlsStream::result_of(int ret, const char* what) {
  const int err = SSL_get_error(m_ssl, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      ERR_clear_error();
      return {IoStatus::want_read, 0, 0};
    case SSL_ERROR_WANT_WRITE:
      ERR_clear_error();
      return {IoStatus::want_write, 0, 0};
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return {IoStatus::eof, 0, 0};
    case SSL_ERROR_SYSCALL:
      if (m_io_error != 0) {
        ERR_clear_error();
        return {IoStatus::error, 0, m_io_error};
      }
      // The peer's end of data where OpenSSL did not expect it.
      m_failure = openssl_reason("unexpected eof while reading");
      return {IoStatus::eof, 0, 0};
    default:
      break;
  }
  m_failure = openssl_reason(what);
  if (m_failure == "certificate verify failed") {
    const long v = SSL_get_verify_result(m_ssl);
    if (v != X509_V_OK) m_failure += std::string(": ") + X509_verify_cert_error_string(v);
  }
  return {IoStatus::error, 0, k_protocol_error};
}

IoResult TlsStream::handshake() {
  if (m_session) return {};
  ERR_clear_error();
  m_io_error = 0;
  const int ret = SSL_do_handshake(m_ssl);
  if (ret == 1) return finish_handshake();
  IoResult r = result_of(ret, "handshake failed");
  if (r.status == IoStatus::eof) {  // the peer left in the middle: a failed handshake
    if (m_failure.empty()) m_failure = "connection closed during handshake";
    return {IoStatus::error, 0, k_protocol_error};
  }
  return r;
}

IoResult TlsStream::finish_handshake() {
  TlsSession s;
  s.version = SSL_get_version(m_ssl);
  s.cipher = SSL_get_cipher_name(m_ssl);
  s.alpn = alpn_of(m_ssl);
  if (m_context->role() == TlsRole::client) s.sni = m_sni;
  else if (const char* sni = SSL_get_servername(m_ssl, TLSEXT_NAMETYPE_host_name)) s.sni = sni;
  X509* peer = SSL_get0_peer_certificate(m_ssl);
  if (peer) s.peer = certificate_info(peer);

  const TlsConfig& c = m_context->config();
  if (m_context->role() == TlsRole::server) {
    s.verify = c.ca_file.empty() ? Verify::not_asked : Verify::ok;
  } else if (c.pin) {
    if (peer && s.peer->sha256 == *c.pin) {
      s.verify = Verify::pinned;
    } else {
      s.verify = Verify::failed;
      s.verify_error = peer ? "certificate does not match --pin (its sha256 is " +
                                  fingerprint_text(s.peer->sha256) + ")"
                            : "no certificate to match --pin";
    }
  } else if (c.insecure) {
    s.verify = Verify::skipped;
  } else {
    const long v = SSL_get_verify_result(m_ssl);
    if (!peer) {
      s.verify = Verify::failed;
      s.verify_error = "no certificate";
    } else if (v == X509_V_OK) {
      s.verify = Verify::ok;
    } else {
      s.verify = Verify::failed;
      s.verify_error = X509_verify_cert_error_string(v);
    }
  }
  m_session = std::move(s);
  // A client that would not trust this peer stops here unless it only reports (probe).
  if (m_session->verify == Verify::failed && !m_context->report_untrusted()) {
    m_failure = "certificate verify failed: " + m_session->verify_error;
    return {IoStatus::error, 0, k_protocol_error};
  }
  return {};
}

IoResult TlsStream::read(std::span<char> buffer) {
  ERR_clear_error();
  m_io_error = 0;
  std::size_t n = 0;
  const int ret = SSL_read_ex(m_ssl, buffer.data(), buffer.size(), &n);
  if (ret == 1) return {IoStatus::ok, n, 0};
  return result_of(ret, "read failed");
}

IoResult TlsStream::write(std::span<const char> data) {
  if (data.empty()) return {};
  ERR_clear_error();
  m_io_error = 0;
  std::size_t n = 0;
  const int ret = SSL_write_ex(m_ssl, data.data(), data.size(), &n);
  if (ret == 1) return {IoStatus::ok, n, 0};
  IoResult r = result_of(ret, "write failed");
  if (r.status == IoStatus::eof) return {IoStatus::error, 0, EPIPE};
  return r;
}

// close_notify, then a FIN, so peers that watch only the socket see the end as well.
IoResult TlsStream::shutdown_write() {
  if (!m_close_notify_sent) {
    ERR_clear_error();
    m_io_error = 0;
    const int ret = SSL_shutdown(m_ssl);
    if (ret < 0) {
      IoResult r = result_of(ret, "shutdown failed");
      if (r.blocked()) return r;
      if (r.status == IoStatus::eof) return {};
      return r;
    }
    m_close_notify_sent = true;
  }
  return shutdown_socket(m_fd.get(), SHUT_WR);
}

void TlsStream::close() {
  // No close_notify here: close() is the abrupt end; a polite one went by shutdown_write.
  SSL_set_quiet_shutdown(m_ssl, 1);
  m_fd.reset();
}

}  // namespace sockecho::net
