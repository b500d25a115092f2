// Composition of a full target's weights against a plain copy of the same
// bytes (the memory-bandwidth ceiling). N is in every benchmark's name.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstring>
#include <thread>

#include "core/bank/template_bank.h"
#include "core/base/kinds.h"
#include "core/base/malloc_tuning.h"
#include "core/model/vit.h"

namespace wave {
namespace {

struct Target {
  TensorMap templates, scalers;
  ViTConfig config;
  BankGeometry geometry;
  int64_t bytes = 0;
};

Target MakeTarget(int64_t depth, int64_t width, int64_t n) {
  Target t;
  t.config.depth = depth;
  t.config.width = width;
  t.config.heads = width / 32;
  at::Generator gen = MakeGenerator(1);
  for (const auto& k : TemplateKinds(t.config, t.geometry)) {
    t.templates[k.kind] = at::empty({n, k.p, k.q}).normal_(0, 1, gen);
  }
  for (const auto& p : TemplatedParams(t.config, t.geometry)) {
    t.scalers[p.name] = at::empty({n, p.a, p.b}).normal_(0, 1, gen);
    t.bytes += p.a * p.b * p.p * p.q * 4;
  }
  return t;
}

void BM_Compose(benchmark::State& state, int64_t depth, int64_t width) {
  Target t = MakeTarget(depth, width, state.range(0));
  c10::NoGradGuard no_grad;
  for (auto _ : state) {
    TensorMap w = ComposeWeights(t.templates, t.scalers, t.config, t.geometry);
    benchmark::DoNotOptimize(w);
  }
  state.SetBytesProcessed(state.iterations() * t.bytes);
  state.counters["N"] = state.range(0);
}

// The ceiling: write the same number of bytes, tensor by tensor, into fresh
// tensors that all stay alive until the iteration ends, as composition's
// outputs do (so both have the same allocation pattern).
void BM_Copy(benchmark::State& state, int64_t depth, int64_t width) {
  Target t = MakeTarget(depth, width, 1);
  std::vector<at::Tensor> src;
  for (const auto& p : TemplatedParams(t.config, t.geometry)) {
    src.push_back(at::ones({p.a * p.p, p.b * p.q}));
  }
  for (auto _ : state) {
    std::vector<at::Tensor> out;
    for (const auto& s : src) out.push_back(at::empty_like(s).copy_(s));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * t.bytes);
}

// The same copy with each output freed at once, so the allocator hands back
// warm memory: the machine's bandwidth without allocation costs.
void BM_CopyReused(benchmark::State& state, int64_t depth, int64_t width) {
  Target t = MakeTarget(depth, width, 1);
  std::vector<at::Tensor> src;
  for (const auto& p : TemplatedParams(t.config, t.geometry)) {
    src.push_back(at::ones({p.a * p.p, p.b * p.q}));
  }
  for (auto _ : state) {
    for (const auto& s : src) {
      at::Tensor dst = at::empty_like(s);
      dst.copy_(s);
      benchmark::DoNotOptimize(dst);
    }
  }
  state.SetBytesProcessed(state.iterations() * t.bytes);
}

BENCHMARK_CAPTURE(BM_Compose, DeitS_12x384, 12, 384)->Arg(4)->Arg(8)->Arg(16)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Copy, DeitS_12x384, 12, 384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_CopyReused, DeitS_12x384, 12, 384)->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compose, DeitB_12x768, 12, 768)->Arg(4)->Arg(8)->Arg(16)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Copy, DeitB_12x768, 12, 768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_CopyReused, DeitB_12x768, 12, 768)->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compose, Tiny_2x64, 2, 64)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Copy, Tiny_2x64, 2, 64)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace wave

int main(int argc, char** argv) {
  // The server's allocator settings: freed outputs stay in the heap, so
  // iterations after the first reuse warm memory as the server's calls do.
  wave::KeepLargeAllocationsInHeap();
  at::set_num_threads(std::thread::hardware_concurrency());
  // --smoke: accepted for ctest, which filters to the tiny sizes.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") != 0) args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
