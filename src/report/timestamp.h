#pragma once

#include <chrono>
#include <string>

namespace sockecho::report {

// The one clock of every event's time: JSON's "time" key and the --timestamps prefix.
using Clock = std::chrono::system_clock;

// t as RFC 3339 in UTC, to the microsecond (rounded down): "2026-12-03T16:34:17.123456Z".
std::string rfc3339(Clock::time_point t);

}  // namespace sockecho::report
