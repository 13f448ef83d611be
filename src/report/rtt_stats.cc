#include "report/rtt_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sockecho::report {
namespace {

// Nearest rank: the smallest value with at least p% of the values at or below it.
double percentile(const std::vector<double>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

RttStats summarize_rtts(std::vector<double> rtts, std::size_t sent) {
  RttStats s;
  s.sent = sent;
  s.received = rtts.size();
  s.loss_percent = sent == 0 ? 0 : 100.0 * static_cast<double>(sent - std::min(sent, rtts.size())) / static_cast<double>(sent);
  if (rtts.empty()) return s;
  std::sort(rtts.begin(), rtts.end());
  double n = static_cast<double>(rtts.size());
  s.min = rtts.front();
  s.max = rtts.back();
  s.avg = std::accumulate(rtts.begin(), rtts.end(), 0.0) / n;
  double var = 0;
  for (double r : rtts) var += (r - s.avg) * (r - s.avg);
  s.stddev = std::sqrt(var / n);
  s.p50 = percentile(rtts, 50);
  s.p90 = percentile(rtts, 90);
  s.p99 = percentile(rtts, 99);
  return s;
}

}  // namespace sockecho::report
