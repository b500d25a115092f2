#include "tools/eval/report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace wave {

absl::Status AppendCsv(const std::string& path, const EvalRow& r) {
  const bool fresh = !std::ifstream(path).good();
  std::ofstream out(path, std::ios::app);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  if (fresh) out << "size,method,epoch,test_accuracy,init_seconds\n";
  out << r.size << "," << r.method << "," << r.epoch << ","
      << (std::isnan(r.accuracy) ? std::string("n/a") : absl::StrFormat("%.2f", r.accuracy))
      << "," << absl::StrFormat("%.2f", r.init_seconds) << "\n";
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EvalRow>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<EvalRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != 5) continue;
    EvalRow r;
    r.size = f[0];
    r.method = f[1];
    r.epoch = std::atoi(f[2].c_str());
    if (!absl::SimpleAtod(f[3], &r.accuracy)) r.accuracy = NAN;
    if (!absl::SimpleAtod(f[4], &r.init_seconds)) r.init_seconds = NAN;
    rows.push_back(r);
  }
  return rows;
}

absl::Status WriteReport(const std::vector<EvalRow>& rows, const std::string& dir,
                         const std::string& header) {
  std::vector<std::string> sizes, methods;
  int max_epoch = 0;
  std::map<std::string, std::map<std::string, std::map<int, double>>> acc;
  for (const auto& r : rows) {
    if (std::find(sizes.begin(), sizes.end(), r.size) == sizes.end()) sizes.push_back(r.size);
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) {
      methods.push_back(r.method);
    }
    acc[r.size][r.method][r.epoch] = r.accuracy;
    max_epoch = std::max(max_epoch, r.epoch);
  }
  std::ofstream md(dir + "/results.md");
  md << header << "\n\n";
  md << "Test accuracy (%) after initialization (epoch 0) and after each epoch of training.\n"
        "n/a: the method cannot express that size.\n\n";
  for (const auto& size : sizes) {
    md << "### " << size << "\n\n| method |";
    for (int e = 0; e <= max_epoch; ++e) md << " " << e << " |";
    md << "\n|---|";
    for (int e = 0; e <= max_epoch; ++e) md << "---|";
    md << "\n";
    for (const auto& method : methods) {
      auto it = acc[size].find(method);
      if (it == acc[size].end()) continue;
      md << "| " << method << " |";
      for (int e = 0; e <= max_epoch; ++e) {
        auto v = it->second.find(e);
        md << " "
           << (v == it->second.end() ? std::string("")
               : std::isnan(v->second) ? std::string("n/a")
                                       : absl::StrFormat("%.1f", v->second))
           << " |";
      }
      md << "\n";
    }
    md << "\n";
  }
  // One data file per size: epoch, then a column per method.
  std::ostringstream plot;
  const int cols = std::min<int>(3, sizes.size());
  const int rows_n = (sizes.size() + cols - 1) / std::max(1, cols);
  plot << "set terminal pngcairo size " << 420 * cols << "," << 340 * rows_n
       << " font 'sans,9'\nset output '" << dir << "/results.png'\n"
       << "set multiplot layout " << rows_n << "," << cols << "\n"
       << "set datafile missing 'NaN'\nset key bottom right\nset xlabel 'epoch'\n"
       << "set ylabel 'test accuracy (%)'\nset grid\n";
  for (const auto& size : sizes) {
    const std::string data = absl::StrCat(dir, "/curve_", size, ".dat");
    std::ofstream out(data);
    out << "epoch";
    for (const auto& m : methods) out << " " << m;
    out << "\n";
    for (int e = 0; e <= max_epoch; ++e) {
      out << e;
      for (const auto& m : methods) {
        auto it = acc[size][m].find(e);
        out << " "
            << (it == acc[size][m].end() || std::isnan(it->second)
                    ? std::string("NaN")
                    : absl::StrFormat("%.2f", it->second));
      }
      out << "\n";
    }
    plot << "set title '" << size << "'\nplot for [i=2:" << methods.size() + 1 << "] '" << data
         << "' using 1:i with linespoints title columnheader(i)\n";
  }
  plot << "unset multiplot\n";
  const std::string script = dir + "/results.gnuplot";
  std::ofstream(script) << plot.str();
  if (std::system(absl::StrCat("gnuplot '", script, "'").c_str()) != 0) {
    return absl::UnavailableError("gnuplot failed; results.md and the .dat files are written");
  }
  return absl::OkStatus();
}

}  // namespace wave
