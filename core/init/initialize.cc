#include "core/init/initialize.h"

#include <c10/core/GradMode.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/model/train_loop.h"
#include "core/model/vit.h"

namespace wave {
namespace {

// A timm-initialized head (weights N(0, 0.02), zero bias), drawn on its own:
// drawing the whole model to keep its head cost 2 s at 100M parameters.
TensorMap FreshHead(const ViTConfig& target, uint64_t seed) {
  at::Generator gen = MakeGenerator(seed);
  return {{"head.weight", at::empty({target.classes, target.width}).normal_(0.0, 0.02, gen)},
          {"head.bias", at::zeros({target.classes})}};
}

// The teacher's logits for normalized images, in batches, without gradients.
at::Tensor TeacherLogits(const std::function<at::Tensor(const at::Tensor&)>& teacher,
                         const at::Tensor& normalized_images) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  const at::Tensor cpu = normalized_images.to(at::kCPU);
  for (int64_t i = 0; i < cpu.size(0); i += 256) {
    parts.push_back(teacher(cpu.slice(0, i, std::min(i + 256, cpu.size(0)))).detach());
  }
  return at::cat(parts).to(normalized_images.device());
}

}  // namespace

absl::Status ValidateFewShot(const Dataset& data, const ViTConfig& target) {
  if (!data.images.defined() || !data.labels.defined()) {
    return absl::InvalidArgumentError("images/labels: missing");
  }
  const auto shape = data.images.sizes().vec();
  const std::vector<int64_t> want = {target.channels, target.image_size, target.image_size};
  if (shape.size() != 4 || std::vector<int64_t>(shape.begin() + 1, shape.end()) != want) {
    return absl::InvalidArgumentError(absl::StrCat("images: shape [", absl::StrJoin(shape, ", "),
                                                   "] is not [N, ", absl::StrJoin(want, ", "),
                                                   "]"));
  }
  if (data.images.scalar_type() != at::kByte && data.images.scalar_type() != at::kFloat) {
    return absl::InvalidArgumentError("images: dtype must be uint8 or float32");
  }
  if (data.labels.dim() != 1 || data.labels.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError("labels: must be int64 [N]");
  }
  if (data.labels.size(0) != shape[0]) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: ", data.labels.size(0), " labels for ", shape[0], " images"));
  }
  if (shape[0] == 0) return absl::InvalidArgumentError("images: no samples");
  const int64_t lo = data.labels.min().item<int64_t>(), hi = data.labels.max().item<int64_t>();
  if (lo < 0 || hi >= target.classes) {
    return absl::InvalidArgumentError(absl::StrCat("labels: values must be in [0, ", target.classes,
                                                   "), found ", lo < 0 ? lo : hi));
  }
  if (data.images.scalar_type() == at::kFloat) {
    if (!AllFinite(data.images)) {
      return absl::InvalidArgumentError("images: contain NaN or infinite values");
    }
    const double largest = data.images.abs().max().item<double>();
    if (largest > kMaxAbsImageValue) {
      return absl::InvalidArgumentError(
          absl::StrCat("images: float32 images are taken as normalized and must lie within +-",
                       kMaxAbsImageValue, "; found ", largest));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFitOptions(const FitOptions& o) {
  if (o.device != "cpu" && o.device != "cuda") {
    return absl::InvalidArgumentError("fit.device: must be 'cpu' or 'cuda'");
  }
  if (o.steps < 0) return absl::InvalidArgumentError("fit.steps: must be >= 0");
  if (o.head_steps < 0) return absl::InvalidArgumentError("fit.head_steps: must be >= 0");
  if (o.head_refit_steps < 0) {
    return absl::InvalidArgumentError("fit.head_refit_steps: must be >= 0");
  }
  if (o.batch < 1) return absl::InvalidArgumentError("fit.batch: must be >= 1");
  if (o.held_out < -1) return absl::InvalidArgumentError("fit.held_out: must be >= 0");
  if (o.tail_blocks < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fit.tail_blocks: must be >= 0 (0: every block), got ", o.tail_blocks));
  }
  if (!(o.max_passes >= 0) || !std::isfinite(o.max_passes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fit.max_passes: must be >= 0 and finite, got ", o.max_passes));
  }
  if (o.eval_every < 0) {
    return absl::InvalidArgumentError(absl::StrCat("fit.eval_every: must be >= 0, got ", o.eval_every));
  }
  if (o.patience < 0) {
    return absl::InvalidArgumentError(absl::StrCat("fit.patience: must be >= 0, got ", o.patience));
  }
  if (!(o.lr > 0) || !std::isfinite(o.lr) || !(o.head_lr > 0) || !std::isfinite(o.head_lr)) {
    return absl::InvalidArgumentError("fit.lr: learning rates must be positive and finite");
  }
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) {
    return absl::InvalidArgumentError("fit.weight_decay: must be >= 0");
  }
  if (!(o.distill_weight >= 0) || !std::isfinite(o.distill_weight)) {
    return absl::InvalidArgumentError("fit.distill_weight: must be >= 0 and finite");
  }
  if (!(o.distill_temperature > 0) || !std::isfinite(o.distill_temperature)) {
    return absl::InvalidArgumentError("fit.distill_temperature: must be positive and finite");
  }
  return absl::OkStatus();
}

bool AllFinite(const at::Tensor& tensor) {
  if (tensor.numel() == 0) return true;
  // min and max, not aminmax: LibTorch 1.13's aminmax has no float16 kernel.
  return std::isfinite(tensor.min().item<double>()) && std::isfinite(tensor.max().item<double>());
}

absl::StatusOr<double> HeldOutAccuracy(const ViTConfig& target, const TensorMap& weights,
                                       const Dataset& held_out, const BankGeometry& geometry) {
  c10::NoGradGuard no_grad;
  const at::Device device = weights.begin()->second.device();
  const Dataset on_device{held_out.images.to(device), held_out.labels.to(device)};
  bool finite = true;
  const double accuracy = Accuracy(
      [&](const at::Tensor& x) {
        at::Tensor logits = VitForward(target, weights, x);
        finite = finite && AllFinite(logits);
        return logits;
      },
      on_device, geometry.mean, geometry.std, 256);
  if (!finite) {
    return absl::InvalidArgumentError(
        "fit diverged: the weights give non-finite outputs; lower fit.lr or fit.head_lr");
  }
  return accuracy;
}

int64_t TrainedBlocks(const FitOptions& options, const ViTConfig& target) {
  return options.tail_blocks > 0 ? std::min(options.tail_blocks, target.depth) : target.depth;
}

int64_t ScalerSteps(const FitOptions& options, int64_t fit_samples, double step_passes) {
  if (options.max_passes <= 0 || fit_samples <= 0) return options.steps;
  const int64_t batch = std::max<int64_t>(1, std::min(options.batch, fit_samples));
  const double budget =
      std::ceil(options.max_passes * static_cast<double>(fit_samples) / (batch * step_passes));
  return std::min<int64_t>(options.steps, static_cast<int64_t>(budget));
}

int64_t HeldOutCount(const FitOptions& options, int64_t n) {
  return options.held_out >= 0 ? options.held_out : std::min<int64_t>(kMaxDefaultHeldOut, n / 10);
}

absl::Status CheckHeldOut(const FitOptions& options, int64_t n) {
  const int64_t held = HeldOutCount(options, n);
  if (held > n - 2) {
    return absl::InvalidArgumentError(absl::StrCat("fit.held_out: ", held, " of ", n,
                                                   " samples leaves fewer than 2 to fit on"));
  }
  return absl::OkStatus();
}

absl::Status CheckKeptTokens(const FitOptions& options, const ViTConfig& target, int64_t n) {
  if (TrainedBlocks(options, target) == target.depth) return absl::OkStatus();
  const int64_t bytes = n * target.tokens() * target.width * static_cast<int64_t>(sizeof(float));
  if (bytes <= kMaxKeptTokenBytes) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "fit.tail_blocks: the tokens kept for ", n, " samples would take ", bytes,
      " bytes, over the ", kMaxKeptTokenBytes, " a fit may keep; send at most ",
      kMaxKeptTokenBytes / (target.tokens() * target.width * 4),
      " samples, or leave tail_blocks unset"));
}

absl::StatusOr<CheckedRequest> CheckedRequest::Create(const TemplateBank& bank,
                                                      const ViTConfig& target,
                                                      const FitOptions& fit) {
  RETURN_IF_ERROR(ValidateTarget(target, bank.geometry));
  RETURN_IF_ERROR(ValidateFitOptions(fit));
  return CheckedRequest(bank, target, fit);
}

absl::StatusOr<CheckedRequest> CheckedRequest::Create(const TemplateBank& bank, int64_t depth,
                                                      int64_t width, int64_t heads, int64_t classes,
                                                      const FitOptions& fit) {
  auto target = MakeTarget(depth, width, heads, classes, bank.geometry);  // validates it
  if (!target.ok()) {
    return absl::Status(target.status().code(), absl::StrCat("target.", target.status().message()));
  }
  RETURN_IF_ERROR(ValidateFitOptions(fit));
  return CheckedRequest(bank, *target, fit);
}

absl::Status CheckedRequest::SetFewShot(Dataset few_shot) {
  const int64_t n = few_shot.size();
  if (fit_.Fits() || n > 0) RETURN_IF_ERROR(ValidateFewShot(few_shot, target_));
  if (fit_.Fits()) RETURN_IF_ERROR(CheckHeldOut(fit_, n));
  if (fit_.steps > 0) RETURN_IF_ERROR(CheckKeptTokens(fit_, target_, n));
  few_shot_ = std::move(few_shot);
  has_few_shot_ = true;
  return absl::OkStatus();
}

namespace {

// The trainable state of a fit: scalers and head, beside the frozen
// templates, all on the fit's device.
struct FitState {
  TensorMap templates, scalers, head;
};

// Step 1: scalers resampled from the nearest auxiliary, and the head.
absl::StatusOr<FitState> StartState(const TemplateBank& bank, const ViTConfig& target,
                                    const FitOptions& o, FitReport& report) {
  const Stopwatch scaler_init_watch;
  FitState state;
  ASSIGN_OR_RETURN(state.scalers, ResampleScalers(bank, target, o.scaler_init, o.aux_mix));
  const AuxiliaryModel& aux = NearestAuxiliary(bank, target, o.aux_mix);
  state.head = o.head_from_bank && aux.config.classes == target.classes
                   ? ResampleHead(aux, target, bank.geometry, o.scaler_init)
                   : FreshHead(target, o.seed);
  report.seconds_scaler_init = scaler_init_watch.Seconds();
  report.scaler_count = ScalerCount(target, bank.geometry, bank);
  report.trainable_params = report.scaler_count + target.classes * (target.width + 1);
  report.model_params = target.ParamCount();
  // Templates move with the scalers' device and stay frozen.
  const at::Device device(o.device);
  for (const auto& [kind, t] : bank.templates) state.templates[kind] = t.detach().to(device);
  for (auto& [name, s] : state.scalers) s = s.to(device);
  for (auto& [name, h] : state.head) h = h.to(device);
  return state;
}

// Step 2: the few-shot fit of scalers and head on all but the held-out
// samples, which it returns.
// Early stopping's bookkeeping: the held-out accuracy every eval_every
// steps, a copy of the scalers and head at the best one.
class BestStep {
 public:
  using AccuracyFn = std::function<absl::StatusOr<double>()>;
  BestStep(const FitOptions& o, bool have_held_out)
      : every_(have_held_out ? o.eval_every : 0), patience_(o.patience), last_(o.steps) {}

  absl::Status Measure(int64_t step, const FitState& state, const AccuracyFn& held_out_accuracy) {
    if (every_ == 0 || (step % every_ != 0 && step != last_)) return absl::OkStatus();
    ASSIGN_OR_RETURN(const double accuracy, held_out_accuracy());
    if (accuracy > best_accuracy_) {
      best_accuracy_ = accuracy;
      best_step_ = step;
      since_best_ = 0;
      scalers_.clear();
      head_.clear();
      for (const auto& [name, s] : state.scalers) scalers_[name] = s.detach().clone();
      for (const auto& [name, h] : state.head) head_[name] = h.detach().clone();
    } else {
      ++since_best_;
    }
    return absl::OkStatus();
  }
  bool ShouldStop() const { return every_ > 0 && patience_ > 0 && since_best_ >= patience_; }
  // Puts the best step's scalers and head back; returns the step whose
  // state stands.
  int64_t RestoreInto(FitState& state, int64_t steps_run) {
    if (best_step_ < 0 || best_step_ == steps_run) return steps_run;
    state.scalers = std::move(scalers_);
    state.head = std::move(head_);
    return best_step_;
  }

 private:
  const int64_t every_, patience_, last_;
  double best_accuracy_ = -1;
  int64_t best_step_ = -1, since_best_ = 0;
  TensorMap scalers_, head_;
};

// What the fit's forward passes start from. With every block trained, the
// normalized images; with only the last blocks trained, the tokens that come
// out of the blocks before them, computed once (their scalers never change).
struct StepInputs {
  int64_t first_block = 0;  // the first block the steps train
  at::Tensor fit;           // fit samples
  at::Tensor held_out;      // held-out samples, computed in float32
};

// The parameters the steps train, as the scalers stand, and the head.
TensorMap TrainedParams(const TemplateBank& bank, const ViTConfig& target, const FitState& state,
                        int64_t first_block) {
  TensorMap params =
      first_block == 0
          ? ComposeWeights(state.templates, state.scalers, target, bank.geometry)
          : ComposeAfterBlock(state.templates, state.scalers, target, bank.geometry, first_block);
  params.insert(state.head.begin(), state.head.end());
  return params;
}

// The class token's features of `input` (images or tokens, as StepInputs).
at::Tensor TrainedFeatures(const ViTConfig& target, const TensorMap& params,
                           const at::Tensor& input, int64_t first_block) {
  return first_block == 0 ? VitFeatures(target, params, input)
                          : VitFeaturesFromTokens(target, params, input, first_block);
}

// Logits in float32 from a forward pass at `precision`.
at::Tensor TrainedLogits(const ViTConfig& target, const TensorMap& params,
                         const at::Tensor& input, int64_t first_block, Precision precision) {
  const AutocastScope autocast(precision, input.device());
  return at::linear(TrainedFeatures(target, params, input, first_block), params.at("head.weight"),
                    params.at("head.bias"))
      .to(at::kFloat);
}

// The tokens after the first `blocks` blocks of the model as it starts, in
// batches, without gradients; float32 whatever the arithmetic.
at::Tensor FrozenTokens(const TemplateBank& bank, const ViTConfig& target, const FitState& state,
                        const at::Tensor& images, int64_t blocks, Precision precision) {
  c10::NoGradGuard no_grad;
  const TensorMap params = ComposeWeights(state.templates, state.scalers, target, bank.geometry);
  const AutocastScope autocast(precision, images.device());
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < images.size(0); begin += 256) {
    parts.push_back(
        VitTokens(target, params, images.slice(0, begin, begin + 256), blocks).to(at::kFloat));
  }
  return at::cat(parts);
}

absl::StatusOr<StepInputs> MakeStepInputs(const TemplateBank& bank, const ViTConfig& target,
                                          const FitState& state, const FitOptions& o,
                                          at::Tensor fit_images, const Dataset& held_out,
                                          FitReport& report) {
  StepInputs in;
  in.first_block = target.depth - TrainedBlocks(o, target);
  report.trained_blocks = target.depth - in.first_block;
  if (in.first_block == 0) {
    in.fit = std::move(fit_images);
    return in;
  }
  in.fit = FrozenTokens(bank, target, state, fit_images, in.first_block, o.precision);
  if (held_out.size() > 0) {
    const at::Tensor images =
        Normalize(held_out.images, bank.geometry.mean, bank.geometry.std).to(fit_images.device());
    in.held_out = FrozenTokens(bank, target, state, images, in.first_block, Precision::kFloat32);
  }
  report.token_passes = fit_images.size(0) + held_out.size();
  return in;
}

// Held-out accuracy (percent) as the scalers and head stand, in float32;
// INVALID_ARGUMENT when the logits are not finite.
absl::StatusOr<double> StepAccuracy(const TemplateBank& bank, const ViTConfig& target,
                                    const FitState& state, const StepInputs& in,
                                    const Dataset& held_out) {
  c10::NoGradGuard no_grad;
  if (in.first_block == 0) {
    TensorMap weights = ComposeWeights(state.templates, state.scalers, target, bank.geometry);
    for (const auto& [name, h] : state.head) weights[name] = h.detach();
    return HeldOutAccuracy(target, weights, held_out, bank.geometry);
  }
  const TensorMap params = TrainedParams(bank, target, state, in.first_block);
  int64_t correct = 0;
  for (int64_t begin = 0; begin < in.held_out.size(0); begin += 256) {
    const at::Tensor logits = TrainedLogits(target, params, in.held_out.slice(0, begin, begin + 256),
                                            in.first_block, Precision::kFloat32);
    if (!AllFinite(logits)) {
      return absl::InvalidArgumentError(
          "fit diverged: the weights give non-finite outputs; lower fit.lr or fit.head_lr");
    }
    correct += logits.argmax(1).eq(held_out.labels.slice(0, begin, begin + 256)).sum().item<int64_t>();
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(held_out.size());
}

// The class token's features of `input` (as StepInputs) with the scalers as
// they stand, in batches, without gradients; float32 whatever the arithmetic.
at::Tensor FeaturesOnce(const TemplateBank& bank, const ViTConfig& target, const FitState& state,
                        const at::Tensor& input, int64_t first_block, Precision precision) {
  c10::NoGradGuard no_grad;
  const TensorMap params = TrainedParams(bank, target, state, first_block);
  const AutocastScope autocast(precision, input.device());
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < input.size(0); begin += 256) {
    parts.push_back(
        TrainedFeatures(target, params, input.slice(0, begin, begin + 256), first_block)
            .to(at::kFloat));
  }
  return at::cat(parts);
}

// The head alone on the features of the body as it stands, computed once:
// a cheap start for the scaler steps (or all of the fit, with steps = 0).
absl::Status FitHeadOnFeatures(const TemplateBank& bank, const ViTConfig& target,
                               const StepInputs& in, const at::Tensor& labels,
                               const at::Tensor& teacher_logits, const FitOptions& o,
                               FitState& state, const CheckFn& check) {
  const at::Tensor features =
      FeaturesOnce(bank, target, state, in.fit, in.first_block, o.precision);
  std::vector<at::Tensor> head;
  for (auto& [name, h] : state.head) head.push_back(h.set_requires_grad(true));
  ScheduledAdamW optimizer({{head, o.head_lr, o.weight_decay}}, {o.head_steps, 0, 0.0});
  at::Generator gen = MakeGenerator(o.seed + 2);
  const int64_t m = features.size(0), batch = std::min(o.batch, m);
  for (int64_t step = 0; step < o.head_steps; ++step) {
    if (check && step % 50 == 0) RETURN_IF_ERROR(check());
    at::Tensor idx = at::randint(0, m, {batch}, gen, at::kLong).to(features.device());
    at::Tensor logits = at::linear(features.index_select(0, idx), state.head.at("head.weight"),
                                   state.head.at("head.bias"));
    at::Tensor y = labels.index_select(0, idx);
    at::Tensor loss = teacher_logits.defined()
                          ? DistillLoss(logits, teacher_logits.index_select(0, idx), y,
                                        o.distill_temperature, o.distill_weight)
                          : at::cross_entropy_loss(logits, y);
    optimizer.Step(step, loss);
  }
  for (auto& [name, h] : state.head) h = h.detach();
  return absl::OkStatus();
}

// Percent of `labels` the head gets right on `features`.
double HeadAccuracy(const TensorMap& head, const at::Tensor& features, const at::Tensor& labels) {
  c10::NoGradGuard no_grad;
  const at::Tensor logits = at::linear(features, head.at("head.weight"), head.at("head.bias"));
  return 100.0 * static_cast<double>(logits.argmax(1).eq(labels).sum().item<int64_t>()) /
         static_cast<double>(labels.size(0));
}

// After the scaler steps: the head alone, full batch, on the features of
// every fit sample as the body now stands (computed once), at head_lr with
// cosine decay. The held-out samples' features, computed in the same way,
// decide whether the new head replaces the old one: it does unless their
// accuracy drops (with nothing held out, it always does).
absl::Status RefitHead(const TemplateBank& bank, const ViTConfig& target, const StepInputs& in,
                       const at::Tensor& labels, const Dataset& held_out, const FitOptions& o,
                       FitState& state, FitReport& report, const CheckFn& check) {
  const at::Tensor features =
      FeaturesOnce(bank, target, state, in.fit, in.first_block, o.precision);
  report.feature_passes += features.size(0);
  at::Tensor held_features;
  if (held_out.size() > 0) {
    const at::Tensor input =
        in.first_block == 0
            ? Normalize(held_out.images, bank.geometry.mean, bank.geometry.std).to(in.fit.device())
            : in.held_out;
    held_features = FeaturesOnce(bank, target, state, input, in.first_block, o.precision);
    report.feature_passes += held_out.size();
  }
  TensorMap refit;
  for (const auto& [name, h] : state.head) refit[name] = h.detach().clone().set_requires_grad(true);
  ScheduledAdamW optimizer(
      {{{refit.at("head.weight"), refit.at("head.bias")}, o.head_lr, o.weight_decay}},
      {o.head_refit_steps, 0, 0.0});
  for (int64_t step = 0; step < o.head_refit_steps; ++step) {
    if (check && step % 50 == 0) RETURN_IF_ERROR(check());
    const at::Tensor logits =
        at::linear(features, refit.at("head.weight"), refit.at("head.bias"));
    optimizer.Step(step, at::cross_entropy_loss(logits, labels));
  }
  for (auto& [name, h] : refit) h = h.detach();
  if (!AllFinite(refit.at("head.weight")) || !AllFinite(refit.at("head.bias"))) {
    return absl::InvalidArgumentError(
        "fit diverged: the refitted head is not finite; lower fit.head_lr");
  }
  const bool keep = held_out.size() == 0 ||
                    HeadAccuracy(refit, held_features, held_out.labels) >=
                        HeadAccuracy(state.head, held_features, held_out.labels);
  if (keep) state.head = std::move(refit);
  report.head_refit_kept = keep;
  return absl::OkStatus();
}

absl::StatusOr<Dataset> FitScalersAndHead(const TemplateBank& bank, const ViTConfig& target,
                                          const Dataset& few_shot, const FitOptions& asked,
                                          int64_t held, FitState& state, FitReport& report,
                                          const ProgressFn& progress, const CheckFn& check) {
  const at::Device device(asked.device);
  auto [fit_set, eval_set] = SplitHeldOut(few_shot, held, target.classes, asked.seed);
  FitOptions o = asked;  // with the step budget of these fit samples
  const double step_passes =
      static_cast<double>(TrainedBlocks(asked, target)) / static_cast<double>(target.depth);
  o.steps = ScalerSteps(asked, fit_set.size(), step_passes);
  report.held_out = eval_set.size();
  report.held_out_indices = HeldOutIndices(few_shot, held, target.classes, o.seed);
  at::Tensor x_all = Normalize(fit_set.images, bank.geometry.mean, bank.geometry.std).to(device);
  fit_set.labels = fit_set.labels.to(device);
  at::Tensor teacher_logits;
  if (o.teacher && o.distill_weight > 0) {
    teacher_logits = TeacherLogits(o.teacher, x_all);
    if (teacher_logits.dim() != 2 || teacher_logits.size(0) != x_all.size(0) ||
        teacher_logits.size(1) != target.classes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fit.teacher: gives logits of shape [", absl::StrJoin(teacher_logits.sizes(), ", "),
          "], not [", x_all.size(0), ", ", target.classes, "]"));
    }
  }
  eval_set.images = eval_set.images.to(device);
  eval_set.labels = eval_set.labels.to(device);
  ASSIGN_OR_RETURN(const StepInputs in,
                   MakeStepInputs(bank, target, state, o, std::move(x_all), eval_set, report));
  std::vector<at::Tensor> scaler_params, head_params;
  for (const auto& p : TemplatedParams(target, bank.geometry)) {
    if (in.first_block == 0 || IsAfterBlock(p, in.first_block)) {
      scaler_params.push_back(state.scalers.at(p.name).set_requires_grad(true));
    }
  }
  for (auto& [name, h] : state.head) head_params.push_back(h.set_requires_grad(true));
  // Cosine decay over the fit, no warm-up.
  ScheduledAdamW optimizer(
      {{scaler_params, o.lr, o.weight_decay}, {head_params, o.head_lr, o.weight_decay}},
      {o.steps, 0, 0.0});
  at::Generator gen = MakeGenerator(o.seed + 1);
  const int64_t m = fit_set.size();
  const int64_t batch = std::min(o.batch, m);
  at::Tensor order = at::randperm(m, gen, at::kLong);
  int64_t cursor = 0;
  if (o.head_steps > 0) {
    RETURN_IF_ERROR(
        FitHeadOnFeatures(bank, target, in, fit_set.labels, teacher_logits, o, state, check));
    report.feature_passes = m;
  }
  BestStep best(o, eval_set.size() > 0);
  const Dataset& held_out = eval_set;  // a lambda cannot capture a structured binding (C++17)
  const BestStep::AccuracyFn held_out_accuracy = [&] {
    return StepAccuracy(bank, target, state, in, held_out);
  };
  RETURN_IF_ERROR(best.Measure(0, state, held_out_accuracy));
  for (int64_t step = 0; step < o.steps && !best.ShouldStop(); ++step) {
    if (check) RETURN_IF_ERROR(check());
    if (cursor + batch > m) {
      order = at::randperm(m, gen, at::kLong);
      cursor = 0;
    }
    at::Tensor idx = order.slice(0, cursor, cursor + batch).to(device);
    cursor += batch;
    const TensorMap params = TrainedParams(bank, target, state, in.first_block);
    at::Tensor logits =
        TrainedLogits(target, params, in.fit.index_select(0, idx), in.first_block, o.precision);
    at::Tensor y = fit_set.labels.index_select(0, idx);
    at::Tensor loss = teacher_logits.defined()
                          ? DistillLoss(logits, teacher_logits.index_select(0, idx), y,
                                        o.distill_temperature, o.distill_weight)
                          : at::cross_entropy_loss(logits, y);
    optimizer.Step(step, loss);
    FitProgress p;
    p.step = step + 1;
    p.total = o.steps;
    p.loss = loss.item<double>();
    p.accuracy = 100.0 * logits.argmax(1).eq(y).sum().item<int64_t>() / double(batch);
    if (!std::isfinite(p.loss)) {
      return absl::InvalidArgumentError(absl::StrCat("fit diverged at step ", step + 1,
                                                     " (the loss is not finite); lower fit.lr or "
                                                     "fit.head_lr"));
    }
    report.steps.push_back(p);
    if (progress && (p.step % o.progress_every == 0 || p.step == o.steps)) progress(p);
    report.steps_run = p.step;
    RETURN_IF_ERROR(best.Measure(p.step, state, held_out_accuracy));
  }
  for (auto& [name, s] : state.scalers) s = s.detach();
  for (auto& [name, h] : state.head) h = h.detach();
  report.best_step = best.RestoreInto(state, report.steps_run);
  if (o.head_refit_steps > 0) {
    RETURN_IF_ERROR(
        RefitHead(bank, target, in, fit_set.labels, held_out, o, state, report, check));
  }
  return std::move(eval_set);
}

// Step 3: the full weights and the held-out accuracy measured on them;
// everything returned on the CPU.
absl::Status ComposeResult(const TemplateBank& bank, const ViTConfig& target, FitState& state,
                           InitResult& result) {
  FitReport& report = result.report;
  const Stopwatch compose_watch;
  ASSIGN_OR_RETURN(result.weights, ComposeFitted(bank, target, state.scalers, state.head));
  report.seconds_compose = compose_watch.Seconds();
  // Measured on the very weights returned (still on the fit's device), so
  // the figure describes them.
  if (result.held_out.size() > 0) {
    ASSIGN_OR_RETURN(report.held_out_accuracy,
                     HeldOutAccuracy(target, result.weights, result.held_out, bank.geometry));
  }
  for (auto& [name, w] : result.weights) w = w.to(at::kCPU);
  for (auto& [name, s] : state.scalers) s = s.to(at::kCPU);
  for (const auto& [name, h] : state.head) result.head[name] = result.weights.at(name);
  result.scalers = std::move(state.scalers);
  if (result.held_out.size() > 0) {
    result.held_out =
        Dataset{result.held_out.images.to(at::kCPU), result.held_out.labels.to(at::kCPU)};
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TensorMap> ComposeFitted(const TemplateBank& bank, const ViTConfig& target,
                                        const TensorMap& scalers, const TensorMap& head) {
  if (scalers.empty()) return absl::InvalidArgumentError("no scalers to compose");
  const at::Device device = scalers.begin()->second.device();
  TensorMap templates;
  for (const auto& [kind, t] : bank.templates) templates[kind] = t.detach().to(device);
  TensorMap weights;
  {
    c10::NoGradGuard no_grad;
    weights = ComposeWeights(templates, scalers, target, bank.geometry);
    for (const auto& [name, h] : head) weights[name] = h.detach().contiguous();
  }
  for (const auto& [name, w] : weights) {
    if (!AllFinite(w)) {
      return absl::InvalidArgumentError(
          absl::StrCat("fit diverged: ", name, " is not finite; lower fit.lr or fit.head_lr"));
    }
  }
  return weights;
}

absl::StatusOr<InitResult> RecomposeFitted(const TemplateBank& bank, const ViTConfig& target,
                                           const TensorMap& scalers, const TensorMap& head,
                                           const std::string& device) {
  const at::Device on(device);
  TensorMap scalers_on, head_on;
  for (const auto& [name, x] : scalers) scalers_on[name] = x.to(on);
  for (const auto& [name, x] : head) head_on[name] = x.to(on);
  InitResult result;
  ASSIGN_OR_RETURN(result.weights, ComposeFitted(bank, target, scalers_on, head_on));
  for (auto& [name, w] : result.weights) w = w.to(at::kCPU);
  result.scalers = scalers;
  result.head = head;
  return result;
}

absl::StatusOr<InitResult> InitializeTarget(const CheckedRequest& request,
                                            const ProgressFn& progress, const CheckFn& check) {
  if (!request.has_few_shot()) {
    return absl::FailedPreconditionError("the request's few-shot data was never set");
  }
  const TemplateBank& bank = request.bank();
  const ViTConfig& target = request.target();
  FitOptions o = request.fit();
  InitResult result;
  o.precision = EffectivePrecision(o.precision, at::Device(o.device), &result.report.precision_note);
  result.report.precision = o.precision;
  ASSIGN_OR_RETURN(FitState state, StartState(bank, target, o, result.report));
  const Stopwatch fit_watch;
  if (o.Fits()) {
    const Dataset& few_shot = request.few_shot();
    const int64_t held = HeldOutCount(o, few_shot.size());
    ASSIGN_OR_RETURN(result.held_out, FitScalersAndHead(bank, target, few_shot, o, held, state,
                                                        result.report, progress, check));
  }
  result.report.seconds_fit = fit_watch.Seconds();
  RETURN_IF_ERROR(ComposeResult(bank, target, state, result));
  return result;
}

absl::StatusOr<InitResult> InitializeTarget(const TemplateBank& bank, const ViTConfig& target,
                                            const Dataset& few_shot, const FitOptions& options,
                                            const ProgressFn& progress, const CheckFn& check) {
  ASSIGN_OR_RETURN(CheckedRequest request, CheckedRequest::Create(bank, target, options));
  RETURN_IF_ERROR(request.SetFewShot(few_shot));
  return InitializeTarget(request, progress, check);
}

}  // namespace wave
