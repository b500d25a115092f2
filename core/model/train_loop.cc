#include "core/model/train_loop.h"

#include "core/base/status_macros.h"

#include <c10/core/GradMode.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/stopwatch.h"
#include "core/model/vit.h"

namespace wave {

double ScheduledLr(int64_t step, int64_t total, int64_t warmup, double base, double min_ratio) {
  if (warmup > 0 && step < warmup) return base * (step + 1) / static_cast<double>(warmup);
  const double span = std::max<int64_t>(1, total - warmup);
  const double done = std::min<double>(step - warmup, span);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * done / span));
  return base * (min_ratio + (1.0 - min_ratio) * cosine);
}

ScheduledAdamW::ScheduledAdamW(std::vector<Group> groups, Schedule schedule)
    : schedule_(schedule) {
  std::vector<torch::optim::OptimizerParamGroup> adamw_groups;
  for (auto& g : groups) {
    base_lr_.push_back(g.lr);
    adamw_groups.emplace_back(std::move(g.params),
                              std::make_unique<torch::optim::AdamWOptions>(
                                  torch::optim::AdamWOptions(g.lr).weight_decay(g.weight_decay)));
  }
  adamw_ = std::make_unique<torch::optim::AdamW>(std::move(adamw_groups));
}

ScheduledAdamW::~ScheduledAdamW() = default;

double ScheduledAdamW::Step(int64_t step, const at::Tensor& loss) {
  return *Step(step, loss, [] { return absl::OkStatus(); });
}

absl::StatusOr<double> ScheduledAdamW::Step(int64_t step, const at::Tensor& loss,
                                            const std::function<absl::Status()>& between) {
  auto& groups = adamw_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].options().set_lr(ScheduledLr(step, schedule_.total_steps, schedule_.warmup_steps,
                                            base_lr_[i], schedule_.min_ratio));
  }
  adamw_->zero_grad();
  loss.backward();
  RETURN_IF_ERROR(between());
  adamw_->step();
  return groups.empty() ? 0 : groups[0].options().get_lr();
}

torch::optim::Optimizer& ScheduledAdamW::optimizer() { return *adamw_; }

absl::Status SaveOptimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  return WriteFileAtomically(path, [&](std::ostream& out) -> absl::Status {
    try {
      torch::save(optimizer, out);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("saving optimizer state: ", e.what()));
    }
    return absl::OkStatus();
  });
}

namespace {

// This process's rows of a batch of n (contiguous, as equal as can be) and
// the weight of its mean loss in the batch's mean.
struct Shard {
  int64_t begin, end;
  double weight;
};
Shard ShareOf(int64_t n, const Replicas& r) {
  if (r.world <= 1) return {0, n, 1.0};
  const int64_t begin = n * r.rank / r.world, end = n * (r.rank + 1) / r.world;
  return {begin, end, static_cast<double>(end - begin) / n};
}

absl::Status SumGradients(const std::vector<at::Tensor>& params, const Replicas& r) {
  if (r.world <= 1) return absl::OkStatus();
  return r.sum_gradients(params);
}

}  // namespace

absl::Status TrainLoop(const std::vector<at::Tensor>& params, const Dataset& train,
                       const LossFn& loss_fn, const TrainLoopOptions& o,
                       const EpochHook& on_epoch) {
  if (train.size() == 0) return absl::InvalidArgumentError("training set is empty");
  if (o.batch <= 0 || o.epochs < 0 || !(o.lr > 0)) {
    return absl::InvalidArgumentError("batch and lr must be positive, epochs non-negative");
  }
  const int64_t n = train.size();
  const int64_t steps_per_epoch = (n + o.batch - 1) / o.batch;
  const int64_t total = steps_per_epoch * o.epochs;
  const int64_t warmup = static_cast<int64_t>(o.warmup_epochs * steps_per_epoch);
  ScheduledAdamW optimizer({{params, o.lr, o.weight_decay}}, {total, warmup, o.min_lr_ratio});
  if (!o.optimizer_state.empty()) {
    try {
      torch::load(optimizer.optimizer(), o.optimizer_state);
    } catch (const std::exception& e) {
      return absl::DataLossError(absl::StrCat("cannot resume optimizer from '",
                                              o.optimizer_state, "': ", e.what()));
    }
  }
  const Stopwatch training_watch;
  int64_t images_seen = 0;
  for (int64_t epoch = o.start_epoch; epoch < o.epochs; ++epoch) {
    // Seeded by epoch, so a resumed run sees the same order as an unbroken one.
    at::Generator gen = MakeGenerator(o.seed * 1000003 + epoch);
    at::Tensor order = at::randperm(n, gen, at::kLong);
    double loss_sum = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const int64_t step = epoch * steps_per_epoch + s;
      at::Tensor idx = order.slice(0, s * o.batch, std::min(n, (s + 1) * o.batch));
      at::Tensor images = train.images.index_select(0, idx);
      // The whole global batch is augmented on every process, so the random
      // stream, and the result, match a single process's.
      if (o.augment_pad > 0) images = Augment(images, o.augment_pad, gen);
      at::Tensor labels = train.labels.index_select(0, idx);
      const Shard shard = ShareOf(idx.size(0), o.replicas);
      at::Tensor x = Normalize(images.slice(0, shard.begin, shard.end), o.mean, o.std);
      at::Tensor y = labels.slice(0, shard.begin, shard.end);
      // A process whose share is empty (a last batch smaller than the world)
      // still takes part in the sum, with zero gradients.
      at::Tensor loss;
      if (shard.end == shard.begin) {
        loss = params.front().sum() * 0.0;
      } else {
        {
          const AutocastScope autocast(o.precision, at::Device(at::kCPU));
          loss = loss_fn(x, y);
        }
        loss = loss.to(at::kFloat);
        if (shard.weight != 1.0) loss = loss * shard.weight;
      }
      ASSIGN_OR_RETURN(const double lr, optimizer.Step(step, loss, [&] {
        return SumGradients(params, o.replicas);
      }));
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        return absl::InternalError(absl::StrCat("loss became ", value, " at epoch ", epoch,
                                                " step ", s, "; lower the learning rate"));
      }
      loss_sum += value;
      images_seen += idx.size(0);
      if (o.log && o.log_every > 0 && (s % o.log_every == 0 || s + 1 == steps_per_epoch)) {
        const double secs = training_watch.Seconds();
        const double per_step = secs / (step - o.start_epoch * steps_per_epoch + 1);
        o.log(absl::StrFormat("[%s] epoch %d/%d step %d/%d loss %.4f lr %.2e %.0f img/s eta %.0fs",
                              o.log_prefix, epoch + 1, o.epochs, s + 1, steps_per_epoch,
                              shard.weight > 0 ? value / shard.weight : 0.0,  // this rank's mean
                              lr, images_seen / secs, per_step * (total - step - 1)));
      }
    }
    if (o.replicas.world > 1) {
      ASSIGN_OR_RETURN(loss_sum, o.replicas.sum(loss_sum));  // each holds its weighted share
    }
    if (on_epoch) {
      absl::Status status = on_epoch(epoch, loss_sum / steps_per_epoch, optimizer.optimizer());
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

at::Tensor DistillLoss(const at::Tensor& student, const at::Tensor& teacher,
                       const at::Tensor& labels, double tau, double kl_weight) {
  at::Tensor ce = at::cross_entropy_loss(student, labels);
  if (kl_weight == 0) return ce;
  at::Tensor log_p = at::log_softmax(student / tau, 1);
  at::Tensor log_q = at::log_softmax(teacher / tau, 1);
  at::Tensor kl = (log_q.exp() * (log_q - log_p)).sum(1).mean();
  return kl_weight * tau * tau * kl + ce;
}

double Accuracy(const std::function<at::Tensor(const at::Tensor&)>& forward, const Dataset& data,
                const std::vector<double>& mean, const std::vector<double>& std,
                int64_t batch) {
  c10::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t b = 0; b < data.size(); b += batch) {
    Dataset part = Slice(data, b, std::min(data.size(), b + batch));
    at::Tensor logits = forward(Normalize(part.images, mean, std));
    correct += logits.argmax(1).eq(part.labels).sum().item<int64_t>();
  }
  return data.size() ? 100.0 * correct / data.size() : 0.0;
}

}  // namespace wave
