#pragma once

// A TLS session over a non-blocking stream socket, as a Stream: the same state machines
// drive it as a plain socket (stream server sessions, send's relay, the prober). OpenSSL
// reads and writes the socket through a BIO that calls net::sys, so the one syscall seam
// (and its failpoints) covers TLS too. SSL_ERROR_WANT_READ / WANT_WRITE become
// IoStatus::want_read / want_write, whichever call they come from: a read may want the
// socket writable (a key update to send) and a write readable.

#include <memory>
#include <string>

#include "net/fd.h"
#include "net/stream.h"
#include "net/tls_context.h"

using SSL = struct ssl_st;

namespace sockecho::net {

class TlsStream final : public Stream {
 public:
  // `peer_name` (clients only): the name to verify the certificate against and, unless
  // it is an IP literal, to send as SNI; --servername replaces it.
  TlsStream(Fd fd, std::shared_ptr<const TlsContext> context, const std::string& peer_name = {});
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  int fd() const override { return m_fd.get(); }
  IoResult handshake() override;
  IoResult read(std::span<char> buffer) override;
  IoResult write(std::span<const char> data) override;
  IoResult shutdown_write() override;
  void close() override;
  std::string failure() const override { return m_failure; }
  const TlsSession* tls() const override { return m_session ? &*m_session : nullptr; }

  // For the BIO: the errno of the last failed socket call, since errno itself may be
  // overwritten between the BIO and us.
  int& io_error() { return m_io_error; }

 private:
  IoResult result_of(int ret, const char* what);
  IoResult finish_handshake();

  Fd m_fd;
  std::shared_ptr<const TlsContext> m_context;
  SSL* m_ssl = nullptr;
  int m_io_error = 0;
  bool m_close_notify_sent = false;
  std::string m_failure;
  std::string m_sni;  // a client: the name it sent
  std::optional<TlsSession> m_session;
};

}  // namespace sockecho::net
