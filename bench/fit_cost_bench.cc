// One fit, timed and its memory measured, as a single process so its peak is
// its own: what bench/cost_growth.py runs for every point of its curves
// (target size, upload size, precision). Prints one JSON line.
//
//   build/bench/fit_cost_bench --depth=9 --width=192 --samples=1000 --steps=20 \
//       [--precision=bf16] [--bank=models/fashion-mnist-vit.safetensors] [--threads=0]
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/bank/template_bank.h"
#include "core/base/stopwatch.h"
#include "core/init/initialize.h"
#include "core/model/dataset.h"

ABSL_FLAG(std::string, bank, "models/fashion-mnist-vit.safetensors", "Template bank.");
ABSL_FLAG(int64_t, depth, 9, "Target depth.");
ABSL_FLAG(int64_t, width, 192, "Target width.");
ABSL_FLAG(int64_t, samples, 1000, "Uploaded images (Fashion-MNIST train, stratified).");
ABSL_FLAG(int64_t, steps, 20, "Scaler steps, all run (no early stopping).");
ABSL_FLAG(int64_t, batch, 64, "Fit batch.");
ABSL_FLAG(std::string, precision, "f32", "f32 | bf16.");
ABSL_FLAG(int, threads, 0, "LibTorch threads (0: every core).");

namespace {

// This process's resident memory now, from /proc (bytes).
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
  }
  return -1;
}

int64_t PeakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "fit_cost_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int threads = absl::GetFlag(FLAGS_threads);
  at::set_num_threads(threads > 0 ? threads : std::thread::hardware_concurrency());
  auto precision = wave::ParsePrecision(absl::GetFlag(FLAGS_precision));
  if (!precision.ok()) return Fail(precision.status());
  auto bank = wave::LoadBank(absl::GetFlag(FLAGS_bank));
  if (!bank.ok()) return Fail(bank.status());
  auto target = wave::MakeTarget(absl::GetFlag(FLAGS_depth), absl::GetFlag(FLAGS_width), 0,
                                 bank->ancestry.classes, bank->geometry);
  if (!target.ok()) return Fail(target.status());
  auto train = wave::LoadFashionMnist("train");
  if (!train.ok()) return Fail(train.status());
  const wave::Dataset upload =
      wave::StratifiedSubset(*train, absl::GetFlag(FLAGS_samples), bank->ancestry.classes, 1);
  *train = wave::Dataset{};

  wave::FitOptions fit;
  fit.steps = absl::GetFlag(FLAGS_steps);
  fit.batch = absl::GetFlag(FLAGS_batch);
  fit.precision = *precision;
  const int64_t before = ResidentBytes();
  const wave::Stopwatch watch;
  auto result = wave::InitializeTarget(*bank, *target, upload, fit);
  const double seconds = watch.Seconds();
  if (!result.ok()) return Fail(result.status());
  const wave::FitReport& r = result->report;
  std::printf(
      "{\"depth\": %lld, \"width\": %lld, \"params\": %lld, \"samples\": %lld, \"steps\": %lld, "
      "\"batch\": %lld, \"precision\": \"%s\", \"threads\": %d, \"seconds\": %.4f, "
      "\"seconds_fit\": %.4f, \"seconds_per_step\": %.5f, \"seconds_compose\": %.4f, "
      "\"rss_before_bytes\": %lld, \"peak_rss_bytes\": %lld}\n",
      (long long)target->depth, (long long)target->width, (long long)r.model_params,
      (long long)upload.size(), (long long)r.steps_run, (long long)fit.batch,
      std::string(wave::PrecisionName(r.precision)).c_str(), at::get_num_threads(), seconds,
      r.seconds_fit, r.steps_run > 0 ? r.seconds_fit / r.steps_run : 0.0, r.seconds_compose,
      (long long)before, (long long)PeakResidentBytes());
  return 0;
}
