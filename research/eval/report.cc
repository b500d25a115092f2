#include "research/eval/report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/base/status_macros.h"
#include "research/eval/paired_stats.h"

namespace wave {
namespace {

constexpr char kHeader[] =
    "seed,split,size,method,epoch,accuracy,passes,forward_passes,seconds";

std::string Number(double x, int decimals = 2) {
  return std::isnan(x) ? std::string("n/a") : absl::StrFormat("%.*f", decimals, x);
}

double ParseNumber(const std::string& s) {
  double x;
  return absl::SimpleAtod(s, &x) ? x : NAN;
}

// size -> method -> epoch -> seed -> row, sizes and methods in order of appearance.
struct Curves {
  std::vector<std::string> sizes, methods;
  std::map<std::string, std::map<std::string, std::map<int, std::map<uint64_t, EvalRow>>>> rows;
  int max_epoch = 0;

  explicit Curves(const std::vector<EvalRow>& all) {
    for (const auto& r : all) {
      if (std::find(sizes.begin(), sizes.end(), r.size) == sizes.end()) sizes.push_back(r.size);
      if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) {
        methods.push_back(r.method);
      }
      rows[r.size][r.method][r.epoch][r.seed] = r;
      max_epoch = std::max(max_epoch, r.epoch);
    }
  }
  // One field of every seed's row at one epoch; empty when absent.
  std::map<uint64_t, double> BySeed(const std::string& size, const std::string& method, int epoch,
                                    double EvalRow::*field = &EvalRow::accuracy) const {
    std::map<uint64_t, double> out;
    auto s = rows.find(size);
    if (s == rows.end()) return out;
    auto m = s->second.find(method);
    if (m == s->second.end()) return out;
    auto e = m->second.find(epoch);
    if (e == m->second.end()) return out;
    for (const auto& [seed, row] : e->second) out[seed] = row.*field;
    return out;
  }
  std::map<uint64_t, double> Accuracy(const std::string& size, const std::string& method,
                                      int epoch) const {
    return BySeed(size, method, epoch);
  }
  double Mean(const std::string& size, const std::string& method, int epoch,
              double EvalRow::*field) const {
    const Summary sum = Summarize(BySeed(size, method, epoch, field));
    return sum.n == 0 ? NAN : sum.mean;
  }
  int LastEpoch(const std::string& size, const std::string& method) const {
    auto s = rows.find(size);
    if (s == rows.end()) return -1;
    auto m = s->second.find(method);
    return m == s->second.end() || m->second.empty() ? -1 : m->second.rbegin()->first;
  }
  bool Has(const std::string& size, const std::string& method) const {
    return LastEpoch(size, method) >= 0;
  }
};

std::string Interval(const PairedDifference& d) {
  if (d.n == 0) return "";
  if (d.n < 2) return absl::StrFormat("%+.2f (one seed)", d.mean);
  return absl::StrFormat("%+.2f [%+.2f, %+.2f] %s", d.mean, d.low, d.high, Verdict(d));
}

void AccuracyTable(const Curves& c, const std::string& size, std::ostream& md) {
  md << "| method |";
  for (int e = 0; e <= c.max_epoch; ++e) md << " " << e << " |";
  md << " seeds |\n|---|";
  for (int e = 0; e <= c.max_epoch + 1; ++e) md << "---|";
  md << "\n";
  for (const auto& method : c.methods) {
    if (!c.Has(size, method)) continue;
    md << "| " << method << " |";
    int seeds = 0;
    for (int e = 0; e <= c.max_epoch; ++e) {
      const auto by_seed = c.Accuracy(size, method, e);
      const Summary s = Summarize(by_seed);
      seeds = std::max<int>(seeds, by_seed.size());
      if (by_seed.empty()) {
        md << " |";
      } else if (s.n == 0) {
        md << " n/a |";
      } else if (s.n == 1) {
        md << absl::StrFormat(" %.2f |", s.mean);
      } else {
        md << absl::StrFormat(" %.2f ± %.2f |", s.mean, s.sd);
      }
    }
    md << " " << seeds << " |\n";
  }
  md << "\n";
}

void PairedTable(const Curves& c, const std::string& size, ReportOptions o,
                 std::ostream& md) {
  // Only the epochs the reference reached.
  const int reached = c.LastEpoch(size, o.reference);
  o.epochs.erase(std::remove_if(o.epochs.begin(), o.epochs.end(),
                                [&](int e) { return e > reached; }),
                 o.epochs.end());
  if (reached < 0 || o.epochs.empty()) return;
  md << o.reference << " minus each method, paired by seed: mean [95% interval].\n\n| method |";
  for (int e : o.epochs) md << " epoch " << e << " |";
  md << "\n|---|";
  for (size_t i = 0; i < o.epochs.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& method : c.methods) {
    if (method == o.reference || !c.Has(size, method)) continue;
    md << "| " << method << " |";
    for (int e : o.epochs) {
      md << " " << Interval(PairedDiff(c.Accuracy(size, o.reference, e),
                                       c.Accuracy(size, method, e)))
         << " |";
    }
    md << "\n";
    // Against the method's own final epoch when it trained longer.
    const int last = c.LastEpoch(size, method);
    if (last > o.epochs.back()) {
      md << "| " << method << " at its epoch " << last << " |";
      for (int e : o.epochs) {
        md << " " << Interval(PairedDiff(c.Accuracy(size, o.reference, e),
                                         c.Accuracy(size, method, last)))
           << " |";
      }
      md << "\n";
    }
  }
  md << "\n";
}

// The first epoch whose mean accuracy reaches `target`, or -1.
int FirstReaching(const Curves& c, const std::string& size, const std::string& method,
                  double target) {
  for (int e = 0; e <= c.LastEpoch(size, method); ++e) {
    const double a = c.Mean(size, method, e, &EvalRow::accuracy);
    if (!std::isnan(a) && a >= target) return e;
  }
  return -1;
}

void ComputeTable(const Curves& c, const std::string& size, const ReportOptions& o,
                  std::ostream& md) {
  const int last = c.LastEpoch(size, o.yardstick);
  if (last < 0) return;
  const double target = c.Mean(size, o.yardstick, last, &EvalRow::accuracy);
  const int own = FirstReaching(c, size, o.yardstick, target);
  if (std::isnan(target) || own < 0) return;
  const double base_passes = c.Mean(size, o.yardstick, own, &EvalRow::passes);
  const double base_seconds = c.Mean(size, o.yardstick, own, &EvalRow::seconds);
  md << absl::StrFormat(
      "Compute to first reach %s's final mean accuracy (%.2f%%, epoch %d), on the mean "
      "curve: image passes with a backward pass (fit + training; forward-only passes in "
      "brackets) and wall seconds, and their ratio to %s's.\n\n"
      "| method | epoch | passes | ratio | seconds | ratio |\n|---|---|---|---|---|---|\n",
      o.yardstick, target, last, o.yardstick);
  for (const auto& method : c.methods) {
    if (!c.Has(size, method)) continue;
    const int e = FirstReaching(c, size, method, target);
    if (e < 0) {
      double best = NAN;
      for (int i = 0; i <= c.LastEpoch(size, method); ++i) {
        const double a = c.Mean(size, method, i, &EvalRow::accuracy);
        if (!std::isnan(a) && !(a <= best)) best = a;
      }
      md << "| " << method << " | not reached (best " << Number(best) << ") | | | | |\n";
      continue;
    }
    const double passes = c.Mean(size, method, e, &EvalRow::passes);
    const double forward = c.Mean(size, method, e, &EvalRow::forward_passes);
    const double seconds = c.Mean(size, method, e, &EvalRow::seconds);
    md << "| " << method << " | " << e << " | " << Number(passes, 0)
       << (forward > 0 ? absl::StrCat(" (", Number(forward, 0), ")") : "") << " | "
       << Number(passes / base_passes, 3) << " | " << Number(seconds, 1) << " | "
       << Number(seconds / base_seconds, 3) << " |\n";
  }
  md << "\n";
}

// curve_<size>.dat: epoch, then per method its mean accuracy and mean passes.
std::string WriteCurve(const Curves& c, const std::string& size, const std::string& dir,
                       const std::vector<std::string>& methods) {
  const std::string path = absl::StrCat(dir, "/curve_", size, ".dat");
  std::ofstream out(path);
  out << "epoch";
  for (const auto& m : methods) out << " " << m << " " << m << "_passes";
  out << "\n";
  for (int e = 0; e <= c.max_epoch; ++e) {
    out << e;
    for (const auto& m : methods) {
      const double a = c.Mean(size, m, e, &EvalRow::accuracy);
      const double p = c.Mean(size, m, e, &EvalRow::passes);
      out << " " << (std::isnan(a) ? "NaN" : absl::StrFormat("%.2f", a)) << " "
          << (std::isnan(p) ? "NaN" : absl::StrFormat("%.0f", p));
    }
    out << "\n";
  }
  return path;
}

absl::Status Plot(const Curves& c, const std::string& dir, const std::string& what) {
  std::ostringstream plot;
  const int cols = std::min<int>(4, c.sizes.size());
  const int rows_n = 2;
  plot << "set terminal pngcairo size " << 420 * cols << "," << 340 * rows_n
       << " font 'sans,9'\nset output '" << dir << "/results.png'\n"
       << "set multiplot layout " << rows_n << "," << cols << "\n"
       << "set datafile missing 'NaN'\nset key bottom right\nset grid\n"
       << "set ylabel '" << what << " accuracy (%)'\n";
  std::vector<std::pair<std::string, std::vector<std::string>>> curves;
  for (const auto& size : c.sizes) {
    std::vector<std::string> methods;
    for (const auto& m : c.methods) {
      if (c.Has(size, m)) methods.push_back(m);
    }
    curves.emplace_back(WriteCurve(c, size, dir, methods), methods);
  }
  for (int axis = 0; axis < 2; ++axis) {
    plot << "set xlabel '" << (axis == 0 ? "epoch" : "image passes (fit + training)") << "'\n";
    for (size_t s = 0; s < c.sizes.size() && s < static_cast<size_t>(cols); ++s) {
      const auto& [data, methods] = curves[s];
      plot << "set title '" << c.sizes[s] << "'\nplot ";
      for (size_t i = 0; i < methods.size(); ++i) {
        const int acc = 2 + 2 * i, passes = 3 + 2 * i;
        plot << (i ? ", " : "") << "'" << data << "' using "
             << (axis == 0 ? "1" : absl::StrCat(passes)) << ":" << acc
             << " with linespoints title '" << methods[i] << "'";
      }
      plot << "\n";
    }
  }
  plot << "unset multiplot\n";
  const std::string script = dir + "/results.gnuplot";
  std::ofstream(script) << plot.str();
  if (std::system(absl::StrCat("gnuplot '", script, "'").c_str()) != 0) {
    return absl::UnavailableError("gnuplot failed; results.md and the .dat files are written");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AppendCsv(const std::string& path, const EvalRow& r) {
  const bool fresh = !std::ifstream(path).good();
  std::ofstream out(path, std::ios::app);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  if (fresh) out << kHeader << "\n";
  out << r.seed << "," << r.split << "," << r.size << "," << r.method << "," << r.epoch << ","
      << Number(r.accuracy) << "," << Number(r.passes, 0) << ","
      << Number(r.forward_passes, 0) << "," << Number(r.seconds) << "\n";
  return absl::OkStatus();
}

absl::Status DropRun(const std::string& path, uint64_t seed, const std::string& size,
                     const std::string& method) {
  if (!std::ifstream(path).good()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<EvalRow> rows, ReadCsv(path));
  const auto of_run = [&](const EvalRow& r) {
    return r.seed == seed && r.size == size && r.method == method;
  };
  if (std::none_of(rows.begin(), rows.end(), of_run)) return absl::OkStatus();
  const std::string temp = path + ".drop";
  std::remove(temp.c_str());
  for (const EvalRow& r : rows) {
    if (!of_run(r)) RETURN_IF_ERROR(AppendCsv(temp, r));
  }
  if (!std::ifstream(temp).good()) std::ofstream(temp) << kHeader << "\n";
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot replace ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EvalRow>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<EvalRow> rows;
  std::string line;
  std::getline(in, line);
  const bool first_format = line == "size,method,epoch,test_accuracy,init_seconds";
  if (!first_format && line != kHeader) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unknown header '", line, "'"));
  }
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    EvalRow r;
    if (first_format && f.size() == 5) {
      r.size = f[0];
      r.method = f[1];
      r.epoch = std::atoi(f[2].c_str());
      r.accuracy = ParseNumber(f[3]);
      if (r.epoch == 0) r.seconds = ParseNumber(f[4]);  // it held the init's seconds
    } else if (!first_format && f.size() == 9) {
      if (!absl::SimpleAtoi(f[0], &r.seed)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": bad seed"));
      }
      r.split = f[1];
      r.size = f[2];
      r.method = f[3];
      r.epoch = std::atoi(f[4].c_str());
      r.accuracy = ParseNumber(f[5]);
      r.passes = ParseNumber(f[6]);
      r.forward_passes = ParseNumber(f[7]);
      r.seconds = ParseNumber(f[8]);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected ", first_format ? 5 : 9, " fields"));
    }
    rows.push_back(r);
  }
  return rows;
}

absl::Status WriteReport(const std::vector<EvalRow>& rows, const std::string& dir,
                         const std::string& header, const ReportOptions& options) {
  if (rows.empty()) return absl::InvalidArgumentError("no rows to report");
  for (const auto& r : rows) {
    if (r.split != rows.front().split) {
      return absl::InvalidArgumentError("rows measured on both the val and the test split");
    }
  }
  const std::string what = rows.front().split == "val" ? "validation" : "test";
  Curves c(rows);
  std::ofstream md(dir + "/results.md");
  md << header << "\n\n"
     << "Accuracy (%) on the " << what
     << " images after initialization (epoch 0) and after each epoch of training: mean ± "
        "sample standard deviation over the seeds (one value: one seed). n/a: the method "
        "cannot express that size.\n\n";
  for (const auto& size : c.sizes) {
    md << "### " << size << "\n\n";
    AccuracyTable(c, size, md);
    PairedTable(c, size, options, md);
    ComputeTable(c, size, options, md);
  }
  md.close();
  return Plot(c, dir, what);
}

}  // namespace wave
