#include "research/eval/paired_stats.h"

#include <cmath>
#include <vector>

namespace wave {

double StudentT975(int df) {
  static const double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return NAN;
  if (df <= 30) return kTable[df - 1];
  return 1.96;
}

namespace {

Summary SummarizeValues(const std::vector<double>& v) {
  Summary s;
  s.n = static_cast<int>(v.size());
  if (s.n == 0) return s;
  for (double x : v) s.mean += x;
  s.mean /= s.n;
  if (s.n < 2) return s;
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(ss / (s.n - 1));
  return s;
}

}  // namespace

Summary Summarize(const std::map<uint64_t, double>& by_seed) {
  std::vector<double> v;
  for (const auto& [seed, x] : by_seed) {
    if (!std::isnan(x)) v.push_back(x);
  }
  return SummarizeValues(v);
}

PairedDifference PairedDiff(const std::map<uint64_t, double>& a,
                            const std::map<uint64_t, double>& b) {
  std::vector<double> diffs;
  for (const auto& [seed, x] : a) {
    auto it = b.find(seed);
    if (it == b.end() || std::isnan(x) || std::isnan(it->second)) continue;
    diffs.push_back(x - it->second);
  }
  const Summary s = SummarizeValues(diffs);
  PairedDifference d;
  d.n = s.n;
  d.mean = s.mean;
  d.sd = s.sd;
  if (d.n >= 2) {
    const double half = StudentT975(d.n - 1) * d.sd / std::sqrt(static_cast<double>(d.n));
    d.low = d.mean - half;
    d.high = d.mean + half;
  }
  return d;
}

std::string Verdict(const PairedDifference& d) {
  if (d.n < 2) return d.n == 1 ? "one seed" : "no pairs";
  if (d.low > 0) return "ahead";
  if (d.high < 0) return "behind";
  return "not distinguishable";
}

}  // namespace wave
