#pragma once

// send --crlf: line endings as CRLF, for line protocols that want them (as nc -C).

#include <cstddef>
#include <span>

namespace sockecho::net {

// Turns each LF into CRLF, read by read. An LF that already follows a CR is left alone,
// also when the CR ended the previous read: the one byte of state is the last byte seen.
class CrlfEncoder {
 public:
  // Writes the encoded in to out, which must hold 2 * in.size() bytes; returns how many.
  std::size_t encode(std::span<const char> in, char* out);

 private:
  bool m_after_cr = false;
};

}  // namespace sockecho::net
