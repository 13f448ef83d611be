#pragma once

#include <cstddef>
#include <vector>

namespace sockecho::report {

// Round-trip statistics as ping prints them, plus percentiles.
struct RttStats {
  std::size_t sent = 0;
  std::size_t received = 0;
  double loss_percent = 0;
  double min = 0, avg = 0, max = 0, stddev = 0;  // milliseconds; 0 when nothing came back
  double p50 = 0, p90 = 0, p99 = 0;              // nearest-rank percentiles
};

// rtts_ms: one entry per answered probe. stddev is the population deviation (ping's mdev).
RttStats summarize_rtts(std::vector<double> rtts_ms, std::size_t sent);

}  // namespace sockecho::report
