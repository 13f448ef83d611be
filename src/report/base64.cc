#include "report/base64.h"

#include <cstdint>

namespace sockecho::report {

std::string base64(std::string_view bytes) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto at = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += k_alphabet[(n >> shift) & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;  // 0, 1 or 2 bytes: 2 or 3 characters and padding
  if (rest > 0) {
    std::uint32_t n = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += k_alphabet[(n >> 18) & 0x3f];
    out += k_alphabet[(n >> 12) & 0x3f];
    out += rest == 2 ? k_alphabet[(n >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sockecho::report
