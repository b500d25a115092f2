// One fit step (compose + forward + backward + AdamW on scalers and head,
// templates frozen) against a plain LibTorch step of the same architecture
// with ordinary parameters, and this machine's GEMM speed, in one run.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/optim/adamw.h>

#include <thread>

#include "bench/fit_step.h"
#include "core/model/attention.h"

namespace wave {
namespace {

void BM_PlainStep(benchmark::State& state, int64_t depth, int64_t width) {
  const ViTConfig c = BenchConfig(depth, width);
  const at::Device device = BenchDevice();
  TensorMap p = DirectInit(c, 1);
  std::vector<at::Tensor> all;
  for (auto& [n, t] : p) all.push_back(t = t.to(device).requires_grad_(true));
  torch::optim::AdamW opt(all, torch::optim::AdamWOptions(1e-3));
  at::Tensor x = at::randn({kBenchFitBatch, 1, 28, 28}).to(device);
  at::Tensor y = at::randint(0, 10, {kBenchFitBatch}, at::kLong).to(device);
  for (auto _ : state) {
    opt.zero_grad();
    at::Tensor loss = at::cross_entropy_loss(VitForward(c, p, x), y);
    loss.backward();
    opt.step();
    WaitFor(loss);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(StepFlops(c, kBenchFitBatch) * state.iterations() / 1e9,
                         benchmark::Counter::kIsRate);
}

// Args: templates per kind N, and precision (0: f32, 1: bf16, the fit's own
// AutocastScope around the forward pass).
void BM_FitStep(benchmark::State& state, int64_t depth, int64_t width) {
  const ViTConfig c = BenchConfig(depth, width);
  const Precision precision = state.range(1) == 1 ? Precision::kBFloat16 : Precision::kFloat32;
  FitStepRig rig(c, state.range(0), precision, BenchDevice());
  for (auto _ : state) rig.Step();
  state.counters["N"] = state.range(0);
  state.counters["GFLOP/s"] = benchmark::Counter(StepFlops(c, kBenchFitBatch) * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}

// One DeiT-S-size layer's attention (batch 64 x 12 heads, head dimension
// 32; arg 2 tokens: 17 for 28x28 images in 7x7 patches, 50 for 224x224 in
// 32x32), forward and backward: Attention (arg 1; the fused kernel up to
// kFusedAttentionMaxTokens) against LibTorch's matmul and softmax (arg 0),
// in float32.
void BM_Attention(benchmark::State& state) {
  const int64_t n = state.range(0) * 12, t = state.range(2), dh = 32;
  at::Tensor q = at::randn({n, t, dh}).requires_grad_(true);
  at::Tensor k = at::randn({n, t, dh}).requires_grad_(true);
  at::Tensor v = at::randn({n, t, dh}).requires_grad_(true);
  at::Tensor upstream = at::randn({n, t, dh});
  const bool fused = state.range(1) == 1;
  for (auto _ : state) {
    at::Tensor out = fused ? Attention(q, k, v, 0.17) : AttentionByMatmul(q, k, v, 0.17);
    out.backward(upstream);
  }
  state.SetLabel(fused && UsesFusedAttention(q) ? "fused" : "matmul");
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

BENCHMARK(BM_Attention)
    ->ArgsProduct({{64}, {0, 1}, {17, 50}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
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
