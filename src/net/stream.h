#pragma once

// A connected byte stream as the state machines see it: the stream server's client
// sessions, send's relay and the prober's echo check. A plain socket is one kind; a TLS
// session over a socket is another. Callers never ask which: they do what the stream
// says it waits for (IoStatus::want_read / want_write) and nothing else.

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/fd.h"
#include "net/sys.h"
#include "net/tls_session.h"

namespace sockecho::net {

class Stream {
 public:
  virtual ~Stream() = default;

  // The socket underneath, for epoll registration and kernel queries; -1 once closed.
  virtual int fd() const = 0;

  // Whatever must happen before data can flow (a TLS handshake). ok when done, and ok at
  // once for a plain socket; otherwise call again when the stream is ready as it says.
  virtual IoResult handshake() { return {}; }

  // One read or write; ok with bytes > 0, eof on a read at the peer's end of data, or
  // want_read / want_write: call again when the socket is ready that way. A read buffer
  // must hold k_min_read bytes: a TLS record is decrypted whole, and what a smaller
  // buffer left of it would wait inside OpenSSL where epoll cannot see it.
  virtual IoResult read(std::span<char> buffer) = 0;
  virtual IoResult write(std::span<const char> data) = 0;

  // Ends our direction (FIN, or a TLS close_notify) and keeps reading possible.
  virtual IoResult shutdown_write() = 0;

  // Releases the socket at once (no goodbye on the wire beyond what the kernel sends).
  virtual void close() = 0;

  // After a call failed with no errno of its own to explain it (a TLS alert, a failed
  // verification): the reason in words, e.g. "wrong version number". Empty otherwise.
  virtual std::string failure() const { return {}; }

  // The TLS session once the handshake is done; null for a plain socket.
  virtual const TlsSession* tls() const { return nullptr; }
};

// The errno a stream reports with failure() text: a protocol failure, not a system call's.
inline constexpr int k_protocol_error = EPROTO;

// The largest plaintext of one TLS record.
inline constexpr std::size_t k_min_read = 16 * 1024;

// The epoll interest that makes a blocked call worth retrying.
inline std::uint32_t interest_of(IoStatus wanted) {
  return wanted == IoStatus::want_write ? std::uint32_t{EPOLLOUT} : std::uint32_t{EPOLLIN};
}

// A stream over a connected socket (TCP or Unix stream), non-blocking.
class SocketStream final : public Stream {
 public:
  explicit SocketStream(Fd fd) : m_fd(std::move(fd)) {}

  int fd() const override { return m_fd.get(); }
  IoResult read(std::span<char> buffer) override { return recv_some(m_fd.get(), buffer); }
  IoResult write(std::span<const char> data) override { return send_some(m_fd.get(), data); }
  IoResult shutdown_write() override { return shutdown_socket(m_fd.get(), SHUT_WR); }
  void close() override { m_fd.reset(); }

 private:
  Fd m_fd;
};

}  // namespace sockecho::net
