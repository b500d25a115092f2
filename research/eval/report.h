// The evaluation's records and report: CSV rows, Markdown tables (mean and
// spread over seeds, paired intervals, compute to reach Direct) and plots.
#ifndef WAVE_TOOLS_EVAL_REPORT_H_
#define WAVE_TOOLS_EVAL_REPORT_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wave {

struct EvalRow {
  uint64_t seed = 0;           // 0: a row of the first CSV format, which kept no seed
  std::string split = "test";  // where accuracy was measured: "test" or "val"
  std::string size, method;    // method: the label the run was recorded under
  int epoch = 0;
  double accuracy = NAN;       // percent; NaN where the method cannot express the size
  double passes = NAN;         // cumulative image passes with a backward pass (fit + training)
  double forward_passes = NAN;  // cumulative forward-only passes (held-out checks, teacher)
  double seconds = NAN;        // cumulative wall seconds of init + training, evaluation excluded
};

absl::Status AppendCsv(const std::string& path, const EvalRow& row);
// Removes the rows of one run (seed, size, method) from a CSV of the current
// format, so that a run a stopped job left half done is redone, not doubled.
// A file without such rows is left untouched.
absl::Status DropRun(const std::string& path, uint64_t seed, const std::string& size,
                     const std::string& method);
// Reads the current format and the first one (size,method,epoch,
// test_accuracy,init_seconds).
absl::StatusOr<std::vector<EvalRow>> ReadCsv(const std::string& path);

struct ReportOptions {
  std::string reference = "wave";     // paired differences are reference minus each method
  std::vector<int> epochs = {0, 1, 5};  // epochs the paired table compares
  std::string yardstick = "direct";   // compute table: passes to reach its final accuracy
};

// results.md, one curve_<size>.dat per size and results.png (accuracy against
// epoch and against image passes, mean over seeds).
absl::Status WriteReport(const std::vector<EvalRow>& rows, const std::string& dir,
                         const std::string& header, const ReportOptions& options);

}  // namespace wave

#endif  // WAVE_TOOLS_EVAL_REPORT_H_
