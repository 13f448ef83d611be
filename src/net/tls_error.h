#pragma once

#include <stdexcept>
#include <string>

namespace sockecho::net {

// A TLS set-up failure (a certificate that will not load, a key that does not match),
// with OpenSSL's reason in the message. Ends `serve` with exit 1, like a failed bind.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// OpenSSL's reason for the oldest error queued on this thread ("wrong version number"),
// or `fallback` when none is; clears the queue.
std::string openssl_reason(const char* fallback = "unknown TLS error");

}  // namespace sockecho::net
