#include "report/timestamp.h"

#include <ctime>

#include <fmt/format.h>

namespace sockecho::report {

std::string rfc3339(Clock::time_point t) {
  using namespace std::chrono;
  // floor, not duration_cast: a time before 1970 still has its microseconds in [0, 1e6).
  const auto us = floor<microseconds>(t.time_since_epoch());
  const auto s = floor<seconds>(us);
  const std::time_t whole = static_cast<std::time_t>(s.count());
  std::tm tm{};
  gmtime_r(&whole, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (us - s).count());
}

}  // namespace sockecho::report
