// The quality table: CSV rows, a Markdown table and a gnuplot PNG.
#ifndef WAVE_TOOLS_EVAL_REPORT_H_
#define WAVE_TOOLS_EVAL_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wave {

struct EvalRow {
  std::string size, method;
  int epoch = 0;
  double accuracy = 0;  // percent; NaN where the method cannot express the size
  double init_seconds = 0;
};

absl::Status AppendCsv(const std::string& path, const EvalRow& row);
absl::StatusOr<std::vector<EvalRow>> ReadCsv(const std::string& path);
// results.md (a table per size) and results.png (a panel per size).
absl::Status WriteReport(const std::vector<EvalRow>& rows, const std::string& dir,
                         const std::string& header);

}  // namespace wave

#endif  // WAVE_TOOLS_EVAL_REPORT_H_
