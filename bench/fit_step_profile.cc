// Where a fit step's time goes: the step of bench/fit_step.h under LibTorch's
// profiler, each operator's own time (its children's taken out) per step,
// with the matrix products' FLOPs from their shapes, beside a square float32
// GEMM timed in the same process. Prints CSV rows (op, calls, ms, GFLOP) per
// step, then "# " lines with the unprofiled step time and the GEMM rate.
//
//   fit_step_profile [--depth=12 --width=384 --templates=16 --steps=5]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/fit_step.h"

ABSL_FLAG(int64_t, depth, 12, "target depth");
ABSL_FLAG(int64_t, width, 384, "target width");
ABSL_FLAG(int64_t, templates, 16, "templates per kind");
ABSL_FLAG(int64_t, steps, 5, "profiled steps (after two to warm up)");
ABSL_FLAG(int64_t, gemm_side, 1024, "side of the square float32 GEMM timed beside");

namespace wave {
namespace {

namespace profiler = torch::autograd::profiler;

struct OpTotal {
  int64_t calls = 0;
  double self_us = 0;
  double flops = 0;
};

// FLOPs of a matrix product from its input shapes; 0 for anything else.
double MatmulFlops(const std::string& name, const std::vector<std::vector<int64_t>>& shapes) {
  auto at = [&](size_t i) { return i < shapes.size() ? shapes[i] : std::vector<int64_t>{}; };
  if (name == "aten::mm" && at(0).size() == 2 && at(1).size() == 2) {
    return 2.0 * at(0)[0] * at(0)[1] * at(1)[1];
  }
  if (name == "aten::addmm" && at(1).size() == 2 && at(2).size() == 2) {
    return 2.0 * at(1)[0] * at(1)[1] * at(2)[1];
  }
  if (name == "aten::bmm" && at(0).size() == 3 && at(1).size() == 3) {
    return 2.0 * at(0)[0] * at(0)[1] * at(0)[2] * at(1)[2];
  }
  return 0;
}

// Each operator's own time: a range's length less its nested ranges', per
// thread (ranges nest on the thread that opened them).
std::map<std::string, OpTotal> SelfTimes(const profiler::thread_event_lists& lists) {
  std::map<std::string, OpTotal> totals;
  for (const auto& events : lists) {
    struct Open {
      const profiler::LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == profiler::EventKind::PushRange) {
        stack.push_back({&e, 0});
      } else if (e.kind() == profiler::EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double length = open.push->cpuElapsedUs(e);
        OpTotal& t = totals[open.push->name()];
        t.calls += 1;
        t.self_us += length - open.children_us;
        t.flops += MatmulFlops(open.push->name(), open.push->shapes());
        if (!stack.empty()) stack.back().children_us += length;
      }
    }
  }
  return totals;
}

double SecondsOf(const std::function<void()>& work, int repeats) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

int Run() {
  const ViTConfig c = BenchConfig(absl::GetFlag(FLAGS_depth), absl::GetFlag(FLAGS_width));
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  FitStepRig rig(c, absl::GetFlag(FLAGS_templates), Precision::kFloat32, at::Device(at::kCPU));
  rig.Step();
  rig.Step();
  const double step_s = SecondsOf([&] { rig.Step(); }, static_cast<int>(steps));
  profiler::enableProfilerLegacy(profiler::ProfilerConfig(profiler::ProfilerState::CPU,
                                                          /*report_input_shapes=*/true));
  for (int64_t i = 0; i < steps; ++i) rig.Step();
  const std::map<std::string, OpTotal> totals = SelfTimes(profiler::disableProfilerLegacy());
  const int64_t side = absl::GetFlag(FLAGS_gemm_side);
  const at::Tensor a = at::randn({side, side}), b = at::randn({side, side});
  at::matmul(a, b);
  const double gemm_s = SecondsOf([&] { at::matmul(a, b); }, 10);

  std::printf("op,calls_per_step,ms_per_step,gflop_per_step\n");
  for (const auto& [name, t] : totals) {
    std::printf("%s,%.1f,%.3f,%.3f\n", name.c_str(), double(t.calls) / steps,
                t.self_us / 1e3 / steps, t.flops / 1e9 / steps);
  }
  std::printf("# target %s, %lld templates per kind, batch %lld, %d threads\n",
              c.ShortName().c_str(), (long long)absl::GetFlag(FLAGS_templates),
              (long long)kBenchFitBatch, at::get_num_threads());
  std::printf("# step_ms_unprofiled %.3f\n", step_s * 1e3);
  std::printf("# step_model_gflop %.3f\n", StepFlops(c, kBenchFitBatch) / 1e9);
  std::printf("# gemm_%lld_gflops %.2f\n", (long long)side, 2.0 * side * side * side / gemm_s / 1e9);
  return 0;
}

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(std::thread::hardware_concurrency());
  return wave::Run();
}
