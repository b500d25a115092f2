// A seeded mini-batch training loop (AdamW, warm-up + cosine decay) shared by
// ancestry training, template distillation and the evaluation harness.
#ifndef WAVE_CORE_MODEL_TRAIN_LOOP_H_
#define WAVE_CORE_MODEL_TRAIN_LOOP_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/model/dataset.h"
#include "core/model/precision.h"

namespace torch::optim {
class Optimizer;
}

namespace wave {

// Data-parallel training over several processes (core/learn/data_parallel.h
// connects them): each takes its share of every global batch, and gradients
// are summed across processes before each update. One process: no sharing.
struct Replicas {
  int64_t rank = 0, world = 1;
  // Sums the gradients of `params` across processes, in place; each process's
  // loss is already weighted by its share of the batch, so the sum is the
  // gradient of the global batch's mean loss.
  std::function<absl::Status(const std::vector<at::Tensor>& params)> sum_gradients;
  // Sums one number across processes (the epoch's loss, for the log).
  std::function<absl::StatusOr<double>(double)> sum;
};

struct TrainLoopOptions {
  int64_t epochs = 1;
  int64_t batch = 128;
  double lr = 1e-3;
  double weight_decay = 0.05;
  double warmup_epochs = 0.5;
  double min_lr_ratio = 0.01;  // cosine floor, as a fraction of lr
  int64_t augment_pad = 0;     // 0: no augmentation
  uint64_t seed = 0;
  std::vector<double> mean = {0.0}, std = {1.0};  // per-channel normalization of uint8 images
  int64_t start_epoch = 0;       // resume point
  std::string optimizer_state;   // optimizer checkpoint to resume from, if any
  int64_t log_every = 50;        // steps between progress lines
  std::string log_prefix = "train";
  // Where progress lines go (the tool prints them); unset: nowhere. core
  // never writes to stdout itself.
  std::function<void(const std::string& line)> log;
  Replicas replicas;
  // The loss's forward pass under this precision's autocast (bf16 matrix
  // products where asked; EffectivePrecision decides what the CPU can run).
  // Parameters, gradients and the optimizer's state stay float32.
  Precision precision = Precision::kFloat32;
};

// Loss of one batch: x normalized float images, y int64 labels.
using LossFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& y)>;
// Called after each epoch (0-based index) with its mean loss and the
// optimizer, e.g. to evaluate and write a checkpoint.
using EpochHook = std::function<absl::Status(int64_t epoch, double mean_loss,
                                             torch::optim::Optimizer& optimizer)>;

absl::Status TrainLoop(const std::vector<at::Tensor>& params, const Dataset& train,
                       const LossFn& loss, const TrainLoopOptions& options,
                       const EpochHook& on_epoch);

// Warm-up then cosine decay to min_ratio * base.
double ScheduledLr(int64_t step, int64_t total, int64_t warmup, double base, double min_ratio);

// AdamW whose parameter groups follow one schedule (ScheduledLr: linear
// warm-up, then cosine decay to min_ratio of each group's base rate). The
// few-shot fit, TrainLoop and wave-eval's head fit all step through it.
class ScheduledAdamW {
 public:
  struct Group {
    std::vector<at::Tensor> params;
    double lr = 1e-3;
    double weight_decay = 0;
  };
  struct Schedule {
    int64_t total_steps = 1;
    int64_t warmup_steps = 0;
    double min_ratio = 0;
  };
  ScheduledAdamW(std::vector<Group> groups, Schedule schedule);
  ~ScheduledAdamW();

  // Sets every group's rate for `step` (0-based), then one update from the
  // gradients of `loss`. Returns the first group's rate.
  double Step(int64_t step, const at::Tensor& loss);
  // The same, with `between` run after the backward pass and before the
  // update (e.g. to sum gradients across processes); its error stops the step.
  absl::StatusOr<double> Step(int64_t step, const at::Tensor& loss,
                              const std::function<absl::Status()>& between);
  torch::optim::Optimizer& optimizer();  // for checkpoints

 private:
  std::vector<double> base_lr_;
  Schedule schedule_;
  std::unique_ptr<torch::optim::Optimizer> adamw_;
};

// Distillation loss: kl_weight * tau^2 * KL(teacher || student) + CE (CE
// alone when kl_weight is 0). Template learning and the few-shot fit use it.
at::Tensor DistillLoss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                       const at::Tensor& labels, double temperature, double kl_weight);

// Top-1 accuracy of `forward` (normalized images -> logits) on `data`.
double Accuracy(const std::function<at::Tensor(const at::Tensor&)>& forward, const Dataset& data,
                const std::vector<double>& mean, const std::vector<double>& std,
                int64_t batch = 1000);

// Saves / loads an optimizer's state (LibTorch's archive format).
absl::Status SaveOptimizer(torch::optim::Optimizer& optimizer, const std::string& path);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_TRAIN_LOOP_H_
