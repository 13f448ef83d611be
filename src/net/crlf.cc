#include "net/crlf.h"

namespace sockecho::net {

std::size_t CrlfEncoder::encode(std::span<const char> in, char* out) {
  char* o = out;
  for (char c : in) {
    if (c == '\n' && !m_after_cr) *o++ = '\r';
    *o++ = c;
    m_after_cr = c == '\r';
  }
  return static_cast<std::size_t>(o - out);
}

}  // namespace sockecho::net
