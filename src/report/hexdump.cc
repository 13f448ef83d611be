#include "report/hexdump.h"

#include <fmt/format.h>

#include "report/json_format.h"

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

std::string format_data_json(const Data& data) {
  return fmt::format(R"({{"event":"data","dir":{},"peer":{},"len":{},"data_b64":"{}"}})",
                     json_string(data.dir), json_string(data.peer), data.bytes.size(),
                     base64(data.bytes));
}

std::string base64(std::string_view bytes) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += k_alphabet[(v >> shift) & 0x3f];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += k_alphabet[(v >> 18) & 0x3f];
    out += k_alphabet[(v >> 12) & 0x3f];
    out += rest == 2 ? k_alphabet[(v >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sockecho::report
