#pragma once

// -x/--hexdump: one chunk of bytes read from or written to a peer, as a plain value.

#include <string>

namespace sockecho::report {

struct Data {
  std::string dir;    // "<" received, ">" sent
  std::string peer;   // the other end, as the other lines show it: "127.0.0.1:51514"
  std::string bytes;  // the chunk, whole (the plaintext, under TLS)
};

}  // namespace sockecho::report
