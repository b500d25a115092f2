// One fit step (compose + forward + backward + AdamW on scalers and head,
// templates frozen) against a plain LibTorch step of the same architecture
// with ordinary parameters, and this machine's GEMM speed, in one run.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/optim/adamw.h>

#include <cstdlib>
#include <thread>

#include "core/bank/template_bank.h"
#include "core/base/kinds.h"
#include "core/model/precision.h"
#include "core/model/vit.h"

namespace wave {
namespace {

// WAVE_BENCH_DEVICE=cuda (scripts/device_check.sh) runs the steps on the GPU;
// each step then ends by reading its loss, so the timer sees the work done.
at::Device BenchDevice() {
  const char* device = std::getenv("WAVE_BENCH_DEVICE");
  return at::Device(device ? device : "cpu");
}

void WaitFor(const at::Tensor& loss) {
  if (!loss.device().is_cpu()) loss.item<float>();
}

ViTConfig Config(int64_t depth, int64_t width) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = width / 32;
  return c;
}

// Forward + backward FLOPs of one step: 6 x (matmul parameters) x tokens x
// batch, plus attention's two [T x T x D] products per layer.
double StepFlops(const ViTConfig& c, int64_t batch) {
  const double t = c.tokens(), d = c.width, m = c.mlp_hidden();
  const double linear = c.depth * (3 * d * d + d * d + 2 * d * m);
  const double attention = c.depth * 2 * t * t * d;
  return 3.0 * batch * (2 * t * linear + 2 * attention);
}

void BM_PlainStep(benchmark::State& state, int64_t depth, int64_t width) {
  const ViTConfig c = Config(depth, width);
  const at::Device device = BenchDevice();
  TensorMap p = DirectInit(c, 1);
  std::vector<at::Tensor> all;
  for (auto& [n, t] : p) all.push_back(t = t.to(device).requires_grad_(true));
  torch::optim::AdamW opt(all, torch::optim::AdamWOptions(1e-3));
  at::Tensor x = at::randn({64, 1, 28, 28}).to(device);
  at::Tensor y = at::randint(0, 10, {64}, at::kLong).to(device);
  for (auto _ : state) {
    opt.zero_grad();
    at::Tensor loss = at::cross_entropy_loss(VitForward(c, p, x), y);
    loss.backward();
    opt.step();
    WaitFor(loss);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(StepFlops(c, 64) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Args: templates per kind N, and precision (0: f32, 1: bf16, the fit's own
// AutocastScope around the forward pass).
void BM_FitStep(benchmark::State& state, int64_t depth, int64_t width) {
  const ViTConfig c = Config(depth, width);
  const Precision precision = state.range(1) == 1 ? Precision::kBFloat16 : Precision::kFloat32;
  const BankGeometry g;
  const int64_t n = state.range(0);
  const at::Device device = BenchDevice();
  const auto on_device = at::TensorOptions().device(device);
  TensorMap templates, scalers;
  for (const auto& k : TemplateKinds(c, g)) templates[k.kind] = at::randn({n, k.p, k.q}, on_device);
  std::vector<at::Tensor> trainable;
  for (const auto& tp : TemplatedParams(c, g)) {
    scalers[tp.name] = (at::randn({n, tp.a, tp.b}, on_device) * 0.01).requires_grad_(true);
    trainable.push_back(scalers[tp.name]);
  }
  TensorMap head = DirectInit(c, 2);
  at::Tensor hw = head["head.weight"].to(device).requires_grad_(true);
  at::Tensor hb = head["head.bias"].to(device).requires_grad_(true);
  trainable.push_back(hw);
  trainable.push_back(hb);
  torch::optim::AdamW opt(trainable, torch::optim::AdamWOptions(1e-3));
  at::Tensor x = at::randn({64, 1, 28, 28}).to(device);
  at::Tensor y = at::randint(0, 10, {64}, at::kLong).to(device);
  for (auto _ : state) {
    opt.zero_grad();
    TensorMap p = ComposeWeights(templates, scalers, c, g);
    p["head.weight"] = hw;
    p["head.bias"] = hb;
    at::Tensor logits;
    {
      const AutocastScope autocast(precision, device);
      logits = VitForward(c, p, x).to(at::kFloat);
    }
    at::Tensor loss = at::cross_entropy_loss(logits, y);
    loss.backward();
    opt.step();
    WaitFor(loss);
  }
  state.counters["N"] = n;
  state.counters["GFLOP/s"] =
      benchmark::Counter(StepFlops(c, 64) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Square matmul at float32 (precision 0) or bfloat16 (1): the rate each
// precision's fit step is compared with.
void BM_Gemm(benchmark::State& state) {
  const int64_t s = state.range(0);
  const auto on_device = at::TensorOptions().device(BenchDevice());
  const auto dtype = state.range(1) == 1 ? at::kBFloat16 : at::kFloat;
  at::Tensor a = at::randn({s, s}, on_device).to(dtype), b = at::randn({s, s}, on_device).to(dtype);
  for (auto _ : state) {
    at::Tensor c = at::matmul(a, b);
    if (!c.device().is_cpu()) c.sum().item<float>();
    benchmark::DoNotOptimize(c);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * s * s * s * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Gemm)->Args({1024, 0})->Args({1024, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_PlainStep, DeitS_12x384, 12, 384)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_FitStep, DeitS_12x384, 12, 384)
    ->Args({8, 0})
    ->Args({16, 0})
    ->Args({16, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PlainStep, Bank_6x128, 6, 128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FitStep, Bank_6x128, 6, 128)
    ->Args({16, 0})
    ->Args({16, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PlainStep, Tiny_1x32, 1, 32)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FitStep, Tiny_1x32, 1, 32)->Args({4, 0})->Args({4, 1})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  at::set_num_threads(std::thread::hardware_concurrency());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
