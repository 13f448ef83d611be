#include "cli/duration.h"

#include <charconv>
#include <cmath>

#include "net/endpoint.h"

namespace sockecho::cli {

std::chrono::milliseconds parse_duration(std::string_view text) {
  using net::ParseError;
  if (text.empty()) throw ParseError("empty duration");
  std::size_t unit_at = text.find_first_not_of("0123456789.");
  std::string_view number = text.substr(0, unit_at);
  std::string_view unit = unit_at == std::string_view::npos ? "" : text.substr(unit_at);
  if (number.empty() || number.front() == '.' || number.back() == '.')
    throw ParseError("not a duration (examples: 250ms, 2s, 1.5s, 1m)");
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size())
    throw ParseError("not a duration (examples: 250ms, 2s, 1.5s, 1m)");
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;  // certificate lifetimes: --warn-expiry 21d
  else throw ParseError("unknown unit (use ms, s, m, h or d)");
  double ms = value * scale;
  if (!std::isfinite(ms) || ms > 24.0 * 3'600'000 * 365) throw ParseError("duration too long");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

}  // namespace sockecho::cli
