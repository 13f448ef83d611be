#include "report/timestamp.h"

#include <catch2/catch.hpp>

using namespace sockecho::report;
using namespace std::chrono;

TEST_CASE("report::rfc3339 is UTC to the microsecond") {
  const Clock::time_point day = sys_days{year{2026} / 12 / 3};
  CHECK(rfc3339(day) == "2026-12-03T00:00:00.000000Z");
  CHECK(rfc3339(day + hours{16} + minutes{34} + seconds{17} + microseconds{123456}) ==
        "2026-12-03T16:34:17.123456Z");
  CHECK(rfc3339(Clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
  CHECK(rfc3339(sys_days{year{2024} / 2 / 29} + hours{23} + minutes{59} + seconds{59} +
                microseconds{999999}) == "2024-02-29T23:59:59.999999Z");
}

TEST_CASE("report::rfc3339 rounds down to the microsecond, before 1970 too") {
  const Clock::time_point t = sys_days{year{2026} / 1 / 1} + nanoseconds{1999};
  CHECK(rfc3339(time_point_cast<Clock::duration>(t)) == "2026-01-01T00:00:00.000001Z");
  CHECK(rfc3339(Clock::time_point{} - microseconds{1}) == "1969-12-31T23:59:59.999999Z");
}
