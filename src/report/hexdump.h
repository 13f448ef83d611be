#pragma once

// The -x/--hexdump output: a chunk as `hexdump -C` prints it, under a header line.

#include <string>
#include <string_view>

#include "report/data_event.h"

namespace sockecho::report {

// bytes in the layout of `hexdump -C -v`, one line per 16 bytes, each ending in '\n': the
// offset in 8 hex digits, two spaces, the bytes in hex in two groups of 8, and the bytes
// as ASCII between bars ('.' for anything outside 0x20-0x7e). Every line is printed (no
// '*' for repeats) and there is no closing offset line; "" for no bytes.
std::string hexdump(std::string_view bytes);

// The header line and the dump, without a final newline:
//   < 127.0.0.1:51514 6 bytes
//   00000000  68 65 6c 6c 6f 0a                                 |hello.|
std::string format_data_text(const Data& data);

}  // namespace sockecho::report
