// Paired comparison of two methods over seeds: the mean difference and its
// 95% Student-t interval, and the verdict the evaluation protocol allows.
#ifndef WAVE_TOOLS_EVAL_PAIRED_STATS_H_
#define WAVE_TOOLS_EVAL_PAIRED_STATS_H_

#include <cstdint>
#include <map>
#include <string>

namespace wave {

// Two-sided 95% quantile of Student's t with `df` degrees of freedom
// (df >= 1; the normal 1.96 beyond the table). Written here from the
// standard table: a lone quantile does not justify a statistics library.
double StudentT975(int df);

struct Summary {
  int n = 0;
  double mean = 0, sd = 0;  // sd: sample standard deviation (0 for n < 2)
};
Summary Summarize(const std::map<uint64_t, double>& by_seed);

struct PairedDifference {
  int n = 0;  // seeds present in both
  double mean = 0, sd = 0;
  double low = 0, high = 0;  // 95% interval of the mean difference; n >= 2 only
};

// a - b over the seeds both have (NaN entries skipped).
PairedDifference PairedDiff(const std::map<uint64_t, double>& a,
                            const std::map<uint64_t, double>& b);

// "ahead" only when the interval lies above zero, "behind" below it, "not
// distinguishable" otherwise; "one seed" when there is no interval.
std::string Verdict(const PairedDifference& d);

}  // namespace wave

#endif  // WAVE_TOOLS_EVAL_PAIRED_STATS_H_
