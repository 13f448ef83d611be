#include "report/rtt_stats.h"

#include <catch2/catch.hpp>

using sockecho::report::summarize_rtts;

TEST_CASE("report::summarize_rtts computes ping's statistics") {
  auto s = summarize_rtts({1.0, 2.0, 3.0, 4.0}, 5);
  CHECK(s.sent == 5);
  CHECK(s.received == 4);
  CHECK(s.loss_percent == Approx(20.0));
  CHECK(s.min == 1.0);
  CHECK(s.max == 4.0);
  CHECK(s.avg == Approx(2.5));
  CHECK(s.stddev == Approx(1.118034).epsilon(1e-5));  // population deviation, as ping's mdev
}

TEST_CASE("report::summarize_rtts takes nearest-rank percentiles") {
  std::vector<double> r;
  for (int i = 100; i >= 1; --i) r.push_back(i);  // unsorted on purpose
  auto s = summarize_rtts(r, 100);
  CHECK(s.p50 == 50);
  CHECK(s.p90 == 90);
  CHECK(s.p99 == 99);
  auto one = summarize_rtts({7.0}, 1);
  CHECK(one.p50 == 7.0);
  CHECK(one.p99 == 7.0);
  CHECK(one.stddev == 0);
}

TEST_CASE("report::summarize_rtts reports total loss without dividing by zero") {
  auto s = summarize_rtts({}, 3);
  CHECK(s.received == 0);
  CHECK(s.loss_percent == 100.0);
  CHECK(s.avg == 0);
  auto none = summarize_rtts({}, 0);
  CHECK(none.loss_percent == 0);
}
