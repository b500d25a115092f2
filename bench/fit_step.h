// One fit step as the server runs it, on random templates: compose the
// weights from frozen templates and trainable scalers, the forward pass
// (under the precision's autocast), the loss, backward, AdamW on scalers and
// head. Shared by the step benchmark and the step's profile. Not
// thread-safe: one rig per thread.
#ifndef WAVE_BENCH_FIT_STEP_H_
#define WAVE_BENCH_FIT_STEP_H_

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "core/bank/template_bank.h"
#include "core/base/kinds.h"
#include "core/model/precision.h"
#include "core/model/vit.h"

namespace wave {

// The fit's batch of few-shot images.
inline constexpr int64_t kBenchFitBatch = 64;

// WAVE_BENCH_DEVICE=cuda (scripts/device_check.sh) runs the steps on the GPU;
// each step then ends by reading its loss, so a timer sees the work done.
inline at::Device BenchDevice() {
  const char* device = std::getenv("WAVE_BENCH_DEVICE");
  return at::Device(device ? device : "cpu");
}

inline void WaitFor(const at::Tensor& loss) {
  if (!loss.device().is_cpu()) loss.item<float>();
}

// A target of the bank's head dimension (32).
inline ViTConfig BenchConfig(int64_t depth, int64_t width) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = width / 32;
  return c;
}

// Forward + backward FLOPs of one step: 6 x (matmul parameters) x tokens x
// batch, plus attention's two [T x T x D] products per layer.
inline double StepFlops(const ViTConfig& c, int64_t batch) {
  const double t = c.tokens(), d = c.width, m = c.mlp_hidden();
  const double linear = c.depth * (3 * d * d + d * d + 2 * d * m);
  const double attention = c.depth * 2 * t * t * d;
  return 3.0 * batch * (2 * t * linear + 2 * attention);
}

class FitStepRig {
 public:
  // `templates` per kind; random templates, scalers and images.
  FitStepRig(const ViTConfig& config, int64_t templates, Precision precision, at::Device device)
      : config_(config), precision_(precision), device_(device) {
    const BankGeometry g;
    const auto on_device = at::TensorOptions().device(device);
    std::vector<at::Tensor> trainable;
    for (const auto& k : TemplateKinds(config, g)) {
      templates_[k.kind] = at::randn({templates, k.p, k.q}, on_device);
    }
    for (const auto& tp : TemplatedParams(config, g)) {
      scalers_[tp.name] = (at::randn({templates, tp.a, tp.b}, on_device) * 0.01).requires_grad_(true);
      trainable.push_back(scalers_[tp.name]);
    }
    TensorMap head = DirectInit(config, 2);
    head_weight_ = head["head.weight"].to(device).requires_grad_(true);
    head_bias_ = head["head.bias"].to(device).requires_grad_(true);
    trainable.push_back(head_weight_);
    trainable.push_back(head_bias_);
    optimizer_ = std::make_unique<torch::optim::AdamW>(trainable, torch::optim::AdamWOptions(1e-3));
    images_ = at::randn({kBenchFitBatch, 1, 28, 28}).to(device);
    labels_ = at::randint(0, 10, {kBenchFitBatch}, at::kLong).to(device);
  }

  // One step; the loss, read back when the device is not the CPU.
  at::Tensor Step() {
    optimizer_->zero_grad();
    TensorMap p = ComposeWeights(templates_, scalers_, config_, BankGeometry());
    p["head.weight"] = head_weight_;
    p["head.bias"] = head_bias_;
    at::Tensor logits;
    {
      const AutocastScope autocast(precision_, device_);
      logits = VitForward(config_, p, images_).to(at::kFloat);
    }
    at::Tensor loss = at::cross_entropy_loss(logits, labels_);
    loss.backward();
    optimizer_->step();
    WaitFor(loss);
    return loss;
  }

 private:
  ViTConfig config_;
  Precision precision_;
  at::Device device_;
  TensorMap templates_, scalers_;
  at::Tensor head_weight_, head_bias_, images_, labels_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace wave

#endif  // WAVE_BENCH_FIT_STEP_H_
