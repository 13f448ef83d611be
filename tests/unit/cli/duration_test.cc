#include "cli/duration.h"

#include <catch2/catch.hpp>

#include "net/endpoint.h"

using sockecho::cli::parse_duration;
using sockecho::net::ParseError;
using std::chrono::milliseconds;

TEST_CASE("cli::parse_duration reads units and bare seconds") {
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("2s") == milliseconds(2000));
  CHECK(parse_duration("1.5s") == milliseconds(1500));
  CHECK(parse_duration("1m") == milliseconds(60000));
  CHECK(parse_duration("1h") == milliseconds(3600000));
  CHECK(parse_duration("1.5h") == milliseconds(5400000));
  CHECK(parse_duration("21d") == milliseconds(21LL * 86400000));
  CHECK(parse_duration("1.5d") == milliseconds(129600000));
  CHECK(parse_duration("365d") == milliseconds(365LL * 86400000));
  CHECK(parse_duration("3") == milliseconds(3000));
  CHECK(parse_duration("0.25") == milliseconds(250));
  CHECK(parse_duration("0") == milliseconds(0));
}

TEST_CASE("cli::parse_duration rejects what is not a duration") {
  for (const char* bad : {"", "5x", "s", "ms", "-1s", "1.s", ".5s", "1..5s", "1s2", "abc", "1 s",
                          "1e3", "100000000000h", "366d", "d", "1D", "1dd", "2d1h"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), ParseError);
  }
}
