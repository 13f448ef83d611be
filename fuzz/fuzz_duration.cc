// cli::parse_duration on arbitrary text: returns or throws net::ParseError (one ASCII line);
// a result is never negative nor over a year; and it agrees with a reference built on
// strtod: NUMBER UNIT, NUMBER the leading run of [0-9.] (not starting or ending with '.',
// read whole by strtod), UNIT one of "", s, ms, m, h, rounded to the nearest millisecond.

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "cli/duration.h"
#include "fuzz_util.h"
#include "net/endpoint.h"

using namespace sockecho;
using fuzz::check;
using fuzz::fail;

namespace {

constexpr double k_year_ms = 24.0 * 3'600'000 * 365;

struct Ref {
  bool sure = true;                  // false: strtod hit ERANGE; skip the comparison
  std::optional<long long> ms;       // nullopt: must throw
};

Ref reference(std::string_view text) {
  Ref r;
  std::size_t unit_at = text.find_first_not_of("0123456789.");
  std::string number(text.substr(0, unit_at));
  std::string_view unit = unit_at == std::string_view::npos ? "" : text.substr(unit_at);
  if (number.empty() || number.front() == '.' || number.back() == '.') return r;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (errno == ERANGE) r.sure = false;
  if (end != number.c_str() + number.size()) return r;  // e.g. "1.2.3"
  double scale;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  else return r;
  double ms = v * scale;
  if (!std::isfinite(ms) || ms > k_year_ms) return r;
  r.ms = std::llround(ms);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<std::chrono::milliseconds> got;
  try {
    got = cli::parse_duration(text);
  } catch (const net::ParseError& e) {
    std::string_view what = e.what();
    check(!what.empty() && fuzz::is_ascii_line(what),
          "ParseError message is not one ASCII line: " + fuzz::quoted(what), text);
  } catch (...) {
    fail("parse_duration threw something other than ParseError: " + fuzz::current_exception_text(),
         text);
  }
  if (got) {
    check(got->count() >= 0, "negative duration " + std::to_string(got->count()) + "ms", text);
    check(static_cast<double>(got->count()) <= k_year_ms + 1,
          "duration over a year: " + std::to_string(got->count()) + "ms", text);
  }
  Ref want = reference(text);
  if (want.sure && got.has_value() != want.ms.has_value())
    fail(std::string("parse_duration ") + (got ? "accepted" : "refused") +
             " what the reference " + (want.ms ? "accepts" : "refuses"),
         text);
  if (want.sure && got && got->count() != *want.ms)
    fail("parse_duration gave " + std::to_string(got->count()) + "ms, the reference " +
             std::to_string(*want.ms) + "ms",
         text);
  return 0;
}
