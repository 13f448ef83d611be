#include "report/hexdump.h"

#include <fmt/format.h>


namespace sockecho::report {
namespace {

constexpr char k_hex[] = "0123456789abcdef";

}  // namespace

std::string hexdump(std::string_view bytes) {
  // A full line is 8 + 2 + 16 * 3 + 1 + 1 + 16 + 2 = 78 bytes with its newline.
  std::string out;
  out.reserve((bytes.size() + 15) / 16 * 78);
  for (std::size_t offset = 0; offset < bytes.size(); offset += 16) {
    std::string_view line = bytes.substr(offset, 16);
    fmt::format_to(std::back_inserter(out), "{:08x}  ", offset);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i < line.size()) {
        auto b = static_cast<unsigned char>(line[i]);
        out += k_hex[b >> 4];
        out += k_hex[b & 0xf];
        out += ' ';
      } else {
        out += "   ";
      }
      if (i == 7) out += ' ';
    }
    out += " |";
    for (char c : line) {
      auto b = static_cast<unsigned char>(c);
      out += b >= 0x20 && b <= 0x7e ? c : '.';
    }
    out += "|\n";
  }
  return out;
}

std::string format_data_text(const Data& data) {
  std::string out = fmt::format("{} {} {} bytes\n", data.dir, data.peer, data.bytes.size());
  out += hexdump(data.bytes);
  out.pop_back();  // the Reporter ends the event with its newline
  return out;
}

}  // namespace sockecho::report
