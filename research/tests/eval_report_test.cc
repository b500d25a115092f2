#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "research/eval/paired_stats.h"
#include "research/eval/report.h"

namespace wave {
namespace {

TEST(PairedStatsTest, IntervalOfPairedDifferences) {
  // Differences 1, 2, 3: mean 2, sd 1, half-width t(2) * 1 / sqrt(3).
  const std::map<uint64_t, double> a = {{1, 71}, {2, 72}, {3, 73}, {4, 99}};
  const std::map<uint64_t, double> b = {{1, 70}, {2, 70}, {3, 70}};
  const PairedDifference d = PairedDiff(a, b);
  EXPECT_EQ(d.n, 3);  // seed 4 has no partner
  EXPECT_DOUBLE_EQ(d.mean, 2);
  EXPECT_DOUBLE_EQ(d.sd, 1);
  EXPECT_NEAR(d.low, 2 - 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(d.high, 2 + 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(Verdict(d), "not distinguishable");  // [-0.48, +4.48]: three seeds are few
}

TEST(PairedStatsTest, VerdictNeedsTheIntervalClearOfZero) {
  EXPECT_EQ(Verdict(PairedDiff({{1, 71}, {2, 69}, {3, 72}}, {{1, 70}, {2, 70}, {3, 70}})),
            "not distinguishable");
  EXPECT_EQ(Verdict(PairedDiff({{1, 60}, {2, 61}}, {{1, 70}, {2, 70.5}})), "behind");
  EXPECT_EQ(Verdict(PairedDiff({{1, 80}}, {{1, 70}})), "one seed");
  EXPECT_EQ(Verdict(PairedDiff({{1, NAN}, {2, 80}}, {{1, 70}, {3, 70}})), "no pairs");
}

TEST(PairedStatsTest, StudentQuantiles) {
  EXPECT_DOUBLE_EQ(StudentT975(1), 12.706);
  EXPECT_DOUBLE_EQ(StudentT975(4), 2.776);
  EXPECT_DOUBLE_EQ(StudentT975(200), 1.96);
  EXPECT_TRUE(std::isnan(StudentT975(0)));
}

std::string TempPath(const std::string& name) {
  return std::string(::testing::TempDir()) + "/" + name;
}

TEST(EvalCsvTest, RoundTripsEveryField) {
  const std::string path = TempPath("roundtrip.csv");
  std::remove(path.c_str());
  EvalRow row;
  row.seed = 7;
  row.split = "val";
  row.size = "9x192";
  row.method = "wave-s50";
  row.epoch = 3;
  row.accuracy = 88.126;
  row.passes = 18200;
  row.forward_passes = 1000;
  row.seconds = 41.5;
  ASSERT_OK(AppendCsv(path, row));
  EvalRow na = row;
  na.method = "heur-lg";
  na.accuracy = na.passes = na.forward_passes = NAN;
  ASSERT_OK(AppendCsv(path, na));
  auto read = ReadCsv(path);
  ASSERT_OK(read.status());
  const std::vector<EvalRow>& rows = *read;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seed, 7u);
  EXPECT_EQ(rows[0].split, "val");
  EXPECT_EQ(rows[0].method, "wave-s50");
  EXPECT_EQ(rows[0].epoch, 3);
  EXPECT_DOUBLE_EQ(rows[0].accuracy, 88.13);  // two decimals kept
  EXPECT_DOUBLE_EQ(rows[0].passes, 18200);
  EXPECT_DOUBLE_EQ(rows[0].forward_passes, 1000);
  EXPECT_DOUBLE_EQ(rows[0].seconds, 41.5);
  EXPECT_TRUE(std::isnan(rows[1].accuracy));
}

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EvalCsvTest, DropRunRemovesOneRunsRowsOnly) {
  const std::string path = TempPath("drop.csv");
  std::remove(path.c_str());
  EvalRow row;
  row.seed = 1;
  row.split = "val";
  row.size = "12x128";
  row.accuracy = 50;
  for (const char* method : {"direct", "wave"}) {
    row.method = method;
    for (int epoch = 0; epoch < 3; ++epoch) {
      row.epoch = epoch;
      ASSERT_OK(AppendCsv(path, row));
    }
  }
  // Another seed's rows of the same size and method stay.
  row.seed = 2;
  row.method = "direct";
  ASSERT_OK(AppendCsv(path, row));
  const std::string before = FileText(path);
  ASSERT_OK(DropRun(path, 1, "4x96", "direct"));  // no such run: untouched
  EXPECT_EQ(FileText(path), before);
  ASSERT_OK(DropRun(path, 1, "12x128", "direct"));
  auto rows = ReadCsv(path);
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*rows)[i].method, "wave");
  EXPECT_EQ((*rows)[3].seed, 2u);
  ASSERT_OK(DropRun(TempPath("absent.csv"), 1, "12x128", "direct"));
}

TEST(EvalCsvTest, ReadsTheFirstFormatAndRejectsOthers) {
  const std::string old_path = TempPath("old.csv");
  std::ofstream(old_path) << "size,method,epoch,test_accuracy,init_seconds\n"
                             "3x64,wave,0,74.20,2.50\n3x64,wave,1,76.30,2.50\n";
  auto read = ReadCsv(old_path);
  ASSERT_OK(read.status());
  const std::vector<EvalRow>& rows = *read;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seed, 0u);
  EXPECT_EQ(rows[0].split, "test");
  EXPECT_DOUBLE_EQ(rows[1].accuracy, 76.3);
  EXPECT_DOUBLE_EQ(rows[0].seconds, 2.5);
  EXPECT_TRUE(std::isnan(rows[1].seconds));  // the init's seconds, not the epoch's

  const std::string bad = TempPath("bad.csv");
  std::ofstream(bad) << "size,method,epoch,test_accuracy,init_seconds\n3x64,wave,0\n";
  EXPECT_EQ(ReadCsv(bad).status().code(), absl::StatusCode::kInvalidArgument);
  std::ofstream(bad) << "a,b\n";
  EXPECT_EQ(ReadCsv(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCsv(TempPath("missing.csv")).status().code(), absl::StatusCode::kNotFound);
}

TEST(EvalReportTest, RefusesToMixValidationAndTestRows) {
  EvalRow val, test;
  val.split = "val";
  test.split = "test";
  val.size = test.size = "3x64";
  val.method = test.method = "wave";
  EXPECT_EQ(WriteReport({val, test}, ::testing::TempDir(), "h", {}).code(),
            absl::StatusCode::kInvalidArgument);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(EvalReportTest, WritesSpreadPairedIntervalAndComputeToReachTheYardstick) {
  std::vector<EvalRow> rows;
  // wave: 80/85 at epochs 0/1; direct: 50/60/70 at epochs 0..2, over 3 seeds.
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const double jitter = seed - 2.0;  // -1, 0, 1
    for (int e = 0; e <= 1; ++e) {
      EvalRow r;
      r.seed = seed;
      r.size = "3x64";
      r.method = "wave";
      r.epoch = e;
      r.accuracy = 80 + 5 * e + jitter;
      r.passes = 1000 + 5000 * e;
      r.forward_passes = 0;
      r.seconds = 1 + 10 * e;
      rows.push_back(r);
    }
    for (int e = 0; e <= 2; ++e) {
      EvalRow r;
      r.seed = seed;
      r.size = "3x64";
      r.method = "direct";
      r.epoch = e;
      r.accuracy = 50 + 10 * e;
      r.passes = 1000 + 5000 * e;
      r.forward_passes = 0;
      r.seconds = 1 + 10 * e;
      rows.push_back(r);
    }
  }
  const std::string dir = ::testing::TempDir();
  ReportOptions options;
  options.epochs = {0, 1};
  ASSERT_OK(WriteReport(rows, dir, "header", options));
  const std::string md = ReadAll(dir + "/results.md");
  EXPECT_NE(md.find("| wave | 80.00 ± 1.00 | 85.00 ± 1.00 | | 3 |"), std::string::npos) << md;
  // wave - direct at epoch 0: 30 +- jitter -> mean 30, sd 1.
  EXPECT_NE(md.find("| direct | +30.00 [+27.52, +32.48] ahead | +25.00 [+22.52, +27.48] ahead |"),
            std::string::npos)
      << md;
  // Against direct's own last epoch (70%): +10 and +15.
  EXPECT_NE(md.find("| direct at its epoch 2 | +10.00 [+7.52, +12.48] ahead |"),
            std::string::npos)
      << md;
  // Direct's final 70% is reached by wave at epoch 0 (1000 passes, 1 s) and
  // by direct at epoch 2 (11000 passes, 21 s).
  EXPECT_NE(md.find("| wave | 0 | 1000 | 0.091 | 1.0 | 0.048 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| direct | 2 | 11000 | 1.000 | 21.0 | 1.000 |"), std::string::npos) << md;
  EXPECT_NE(ReadAll(dir + "/curve_3x64.dat").find("0 80.00 1000 50.00 1000"), std::string::npos);
}

}  // namespace
}  // namespace wave
