// wave-device-check: checks the CUDA path against the CPU one and times
// composition on the device. Exits 0 with a note when no CUDA device exists.
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>

#include "core/init/initialize.h"
#include "core/learn/learn.h"
#include "core/model/compose.h"
#include "core/model/vit.h"

namespace wave {
namespace {

int failures = 0;

void Check(bool ok, const char* what, double detail) {
  std::printf("%s %-58s %.3g\n", ok ? "PASS" : "FAIL", what, detail);
  if (!ok) ++failures;
}

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU).to(at::kDouble) - b.to(at::kCPU).to(at::kDouble)).abs().max()
      .item<double>();
}

}  // namespace
}  // namespace wave

int main() {
  using namespace wave;
  if (!at::hasCUDA()) {
    std::printf("no CUDA device: nothing to check\n");
    return 0;
  }
  at::set_num_threads(4);
  const at::Device cuda("cuda");
  // 1. Composition: the GEMM + permute path on CUDA against the CPU pass.
  at::Generator gen = MakeGenerator(1);
  at::Tensor s = at::empty({8, 36, 12}).normal_(0, 1, gen);
  at::Tensor p = at::empty({8, 32, 32}).normal_(0, 1, gen);
  Check(MaxDiff(KroneckerSum(s, p), KroneckerSum(s.to(cuda), p.to(cuda))) < 1e-3,
        "KroneckerSum cuda == cpu (max abs diff)",
        MaxDiff(KroneckerSum(s, p), KroneckerSum(s.to(cuda), p.to(cuda))));
  // Gradients on CUDA.
  at::Tensor sc = s.to(cuda).requires_grad_(true), pc = p.to(cuda).requires_grad_(true);
  at::Tensor sr = s.clone().requires_grad_(true), pr = p.clone().requires_grad_(true);
  KroneckerSum(sc, pc).pow(2).sum().backward();
  KroneckerSum(sr, pr).pow(2).sum().backward();
  Check(MaxDiff(sc.grad(), sr.grad()) / sr.grad().abs().max().item<double>() < 1e-4,
        "KroneckerSum backward cuda == cpu (relative)", MaxDiff(sc.grad(), sr.grad()));

  // 2. ViT forward on CUDA.
  ViTConfig c;
  c.depth = 4;
  c.width = 128;
  c.heads = 4;
  TensorMap params = DirectInit(c, 2);
  for (auto& [n, t] : params) t = at::empty_like(t).normal_(0, 0.2, gen);
  TensorMap on_cuda;
  for (auto& [n, t] : params) on_cuda[n] = t.to(cuda);
  at::Tensor x = at::empty({16, 1, 28, 28}).normal_(0, 1, gen);
  const double fwd = MaxDiff(VitForward(c, params, x), VitForward(c, on_cuda, x.to(cuda)));
  Check(fwd < 1e-2, "VitForward cuda == cpu (max abs diff of logits)", fwd);

  // 3. A whole initialization on CUDA against the same on the CPU.
  TemplateBank bank;
  bank.ancestry = c;
  AuxiliaryModel aux;
  aux.config = c;
  SvdTemplates(params, c, bank.geometry, 8, 3, &bank.templates, &aux.scalers);
  aux.head = {{"head.weight", params["head.weight"]}, {"head.bias", params["head.bias"]}};
  bank.auxiliaries.push_back(aux);
  Dataset data;
  data.images = at::randint(0, 256, {256, 1, 28, 28}, gen, at::kLong).to(at::kByte);
  data.labels = at::randint(0, 10, {256}, gen, at::kLong);
  ViTConfig target = c;
  target.depth = 6;
  target.width = 192;
  target.heads = 6;
  FitOptions o;
  o.steps = 30;
  o.batch = 32;
  o.held_out = 32;
  auto cpu = InitializeTarget(bank, target, data, o);
  o.device = "cuda";
  auto gpu = InitializeTarget(bank, target, data, o);
  Check(cpu.ok() && gpu.ok(), "InitializeTarget runs on cuda", 0);
  if (cpu.ok() && gpu.ok()) {
    const auto& sc_steps = gpu->report.steps;
    Check(sc_steps.back().loss < sc_steps.front().loss, "fit loss falls on cuda (last step loss)",
          sc_steps.back().loss);
    Check(std::abs(cpu->report.steps[0].loss - sc_steps[0].loss) < 1e-3,
          "first fit step loss cuda == cpu", std::abs(cpu->report.steps[0].loss - sc_steps[0].loss));
    Check(!gpu->weights.begin()->second.is_cuda(), "returned weights are on the CPU", 0);
    std::printf("fit seconds: cpu %.3f cuda %.3f\n", cpu->report.seconds_fit,
                gpu->report.seconds_fit);
  }

  // 4. Composition speed on the device: DeiT-S-size qkv grids.
  for (int64_t n : {4, 8, 16}) {
    at::Tensor S = at::empty({n, 36, 12}, at::TensorOptions().device(cuda)).normal_();
    at::Tensor P = at::empty({n, 32, 32}, at::TensorOptions().device(cuda)).normal_();
    at::Tensor W = KroneckerSum(S, P);
    at::Tensor dst = at::empty_like(W);
    const int reps = 200;
    auto time = [&](auto fn) {
      fn();
      at::Tensor sync = W.sum();
      sync.item<float>();
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) fn();
      W.sum().item<float>();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    };
    const double compose = time([&] { W = KroneckerSum(S, P); });
    const double copy = time([&] { dst.copy_(W); });
    std::printf("cuda compose N=%lld [1152x384]: %.1f us, copy %.1f us, ratio %.2f\n",
                static_cast<long long>(n), compose * 1e6, copy * 1e6, compose / copy);
  }
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
