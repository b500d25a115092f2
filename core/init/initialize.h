// Initializing a target size from a bank: scaler resampling, a few-shot fit
// of scalers and head with the templates frozen, and composition of the full
// weights (docs/DESIGN.md, "Initializing a new size").
#ifndef WAVE_CORE_INIT_INITIALIZE_H_
#define WAVE_CORE_INIT_INITIALIZE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bank/scaler_init.h"
#include "core/bank/template_bank.h"
#include "core/model/dataset.h"
#include "core/model/precision.h"

namespace wave {

struct FitOptions {
  int64_t steps = 200;
  int64_t batch = 64;
  double lr = 2e-3;       // scalers
  double head_lr = 5e-3;  // the task head
  double weight_decay = 0.0;
  uint64_t seed = 0;
  // Samples kept out of the fit to report accuracy on; -1: 10% up to 100.
  int64_t held_out = -1;
  ScalerInit scaler_init = ScalerInit::kStructured;
  AuxiliaryMix aux_mix = AuxiliaryMix::kNearest;  // banks with several auxiliaries
  // Start the head from the bank's auxiliary head when the class counts
  // agree; otherwise (or false) a fresh timm-initialized head.
  bool head_from_bank = true;
  // Early stopping on the held-out samples: every `eval_every` steps (and
  // before the first) their accuracy is measured, and the fit returns the
  // scalers and head of the best measurement (the earliest among equals);
  // after `patience` measurements without improvement it stops. 0 turns
  // each off; without held-out samples neither applies.
  int64_t eval_every = 0;
  int64_t patience = 0;
  // Before the scaler steps: this many steps of the head alone, on the
  // features of the body as initialized, computed once (one forward pass
  // over the fit samples; each step then costs a linear layer, not a pass
  // through the model). With steps = 0 the body is never trained.
  int64_t head_steps = 0;
  // A budget in passes over the fit samples: > 0 caps the scaler steps at
  // ceil(max_passes * fit samples / batch), so the fit's cost follows the
  // upload's size instead of a fixed step count. 0: `steps` as given.
  double max_passes = 0;
  // The scaler steps train only the scalers of the last `tail_blocks` blocks
  // and the final norm, with the head. The blocks before them keep the
  // scalers they start from and run once, forward only, over the fit and
  // held-out samples; their output tokens are kept, so a step is a pass
  // through the trained blocks alone (and max_passes counts it as that
  // share of a pass). 0, or the target's depth or more: every block.
  int64_t tail_blocks = 0;
  // After the scaler steps: this many full-batch steps of the head alone on
  // the features of every fit sample as the fit left the body, computed once
  // (one forward pass over the fit and held-out samples). The new head is
  // kept only where the held-out accuracy does not drop. 0: no refit.
  int64_t head_refit_steps = 0;
  int64_t progress_every = 1;  // steps between progress callbacks

  bool Fits() const { return steps > 0 || head_steps > 0 || head_refit_steps > 0; }  // uses the few-shot data
  // Where the fit runs ("cpu", "cuda").
  std::string device = "cpu";
  // The forward passes' arithmetic (scaler steps and the head's features):
  // bf16 runs where the device has it and f32 elsewhere (EffectivePrecision;
  // FitReport says which ran and why). Held-out measurements and the
  // returned weights are float32 either way.
  Precision precision = Precision::kFloat32;
  // Distillation from a teacher (typically the bank's ancestry, same classes):
  // the loss becomes cross-entropy + w * T^2 * KL(teacher || model) at
  // temperature T, as in template learning (DistillLoss). The teacher maps
  // normalized images to logits on the CPU; unset, or w = 0, fits on labels.
  std::function<at::Tensor(const at::Tensor&)> teacher;
  double distill_weight = 1.0;       // w
  double distill_temperature = 2.0;  // T
};

struct FitProgress {
  int64_t step = 0, total = 0;
  double loss = 0;
  double accuracy = 0;  // on the batch, percent
};

struct FitReport {
  std::vector<FitProgress> steps;
  double held_out_accuracy = -1;  // percent; -1 when nothing was held out
  int64_t held_out = 0;
  std::vector<int64_t> held_out_indices;  // positions in the few-shot data, in held-out order
  int64_t steps_run = 0;                  // fewer than asked when early stopping stopped the fit
  int64_t best_step = 0;                  // the step whose scalers and head were returned
  int64_t feature_passes = 0;             // forward image passes spent on the head's features
  bool head_refit_kept = false;           // the refitted head was returned
  int64_t trained_blocks = 0;             // blocks whose scalers the steps trained
  // Forward image passes through the blocks kept as they started (fit and
  // held-out samples, once); 0 when every block was trained.
  int64_t token_passes = 0;
  int64_t trainable_params = 0;           // scalers + head
  int64_t scaler_count = 0;
  int64_t model_params = 0;
  Precision precision = Precision::kFloat32;  // what the fit ran at
  std::string precision_note;                 // why not what was asked; empty when it was
  double seconds_scaler_init = 0, seconds_fit = 0, seconds_compose = 0;
};

struct InitResult {   // on the CPU, whatever the fit's device
  TensorMap weights;  // every timm parameter, head included; all finite
  TensorMap scalers;  // fitted scalers by parameter name, [N, a, b]
  TensorMap head;     // the fitted head (the same tensors as in `weights`)
  FitReport report;   // held_out_accuracy measured on `weights` as returned
  Dataset held_out;   // the samples kept out of the fit (empty when none)
};

using ProgressFn = std::function<void(const FitProgress&)>;
// Checked between steps; a non-OK status stops the fit and is returned.
using CheckFn = std::function<absl::Status()>;

// Float32 images arrive normalized (about N(0, 1)); values past this are
// not images, and would only overflow the fit.
inline constexpr double kMaxAbsImageValue = 1000;

// Checks images ([N, C, s, s] uint8 or finite float32 within
// +-kMaxAbsImageValue) and labels (int64 [N]
// in [0, classes)) against the target. Messages name the field.
absl::Status ValidateFewShot(const Dataset& data, const ViTConfig& target);
absl::Status ValidateFitOptions(const FitOptions& options);
// How many of `n` samples a fit holds out: options.held_out, or by default
// 10% up to kMaxDefaultHeldOut.
inline constexpr int64_t kMaxDefaultHeldOut = 100;
int64_t HeldOutCount(const FitOptions& options, int64_t n);
// The blocks a fit's scaler steps train: options.tail_blocks, or every block.
int64_t TrainedBlocks(const FitOptions& options, const ViTConfig& target);
// The scaler steps a fit on `fit_samples` runs: options.steps, capped by
// options.max_passes when it is set, where one sample through a step costs
// `step_passes` of a pass (the trained blocks' share of the network).
int64_t ScalerSteps(const FitOptions& options, int64_t fit_samples, double step_passes = 1.0);
// INVALID_ARGUMENT when holding them out leaves fewer than 2 samples to fit on.
absl::Status CheckHeldOut(const FitOptions& options, int64_t n);
// A fit of the last blocks keeps every sample's tokens (float32 [T, width]);
// FAILED_PRECONDITION, naming what to change, when those of `n` samples
// would pass kMaxKeptTokenBytes.
inline constexpr int64_t kMaxKeptTokenBytes = 2ll << 30;
absl::Status CheckKeptTokens(const FitOptions& options, const ViTConfig& target, int64_t n);

// True when no element is NaN or infinite: the smallest and the largest
// element are finite (a NaN makes both NaN). No mask materialized (a float64
// sum took 1.3 s per 100M floats; this takes about 20 ms, float16 0.7 s).
bool AllFinite(const at::Tensor& tensor);

// Top-1 accuracy (percent) of `weights` on `held_out`. INVALID_ARGUMENT when
// the weights give non-finite logits: a model that cannot be trusted must not
// be reported with an accuracy.
absl::StatusOr<double> HeldOutAccuracy(const ViTConfig& target, const TensorMap& weights,
                                       const Dataset& held_out, const BankGeometry& geometry);

// A request checked against its bank once, in two steps: the target and fit
// options as soon as they are known (a server's header), the few-shot data
// once it has all arrived. InitializeTarget trusts it and checks nothing
// again. The bank must outlive it.
class CheckedRequest {
 public:
  static absl::StatusOr<CheckedRequest> Create(const TemplateBank& bank, const ViTConfig& target,
                                               const FitOptions& fit);
  // From the API's four numbers (heads 0: from the bank), completed against
  // the bank; errors name the field as the API does ("target.width: ...").
  static absl::StatusOr<CheckedRequest> Create(const TemplateBank& bank, int64_t depth,
                                               int64_t width, int64_t heads, int64_t classes,
                                               const FitOptions& fit);
  // ValidateFewShot, and the held-out rule (at least 2 samples left to fit).
  absl::Status SetFewShot(Dataset few_shot);
  void ReleaseFewShot() { few_shot_ = Dataset{}; }

  const TemplateBank& bank() const { return *bank_; }
  const ViTConfig& target() const { return target_; }
  const FitOptions& fit() const { return fit_; }
  const Dataset& few_shot() const { return few_shot_; }
  bool has_few_shot() const { return has_few_shot_; }

 private:
  CheckedRequest(const TemplateBank& bank, const ViTConfig& target, const FitOptions& fit)
      : bank_(&bank), target_(target), fit_(fit) {}
  const TemplateBank* bank_;
  ViTConfig target_;
  FitOptions fit_;
  Dataset few_shot_;
  bool has_few_shot_ = false;
};

// Every parameter of `target` from fitted scalers and head, on the scalers'
// device; INVALID_ARGUMENT unless all finite. What a fit returns, and what a
// cached fit is recomposed from: one computation, so the same bytes.
absl::StatusOr<TensorMap> ComposeFitted(const TemplateBank& bank, const ViTConfig& target,
                                        const TensorMap& scalers, const TensorMap& head);

// A kept fit's result again: `scalers` and `head` (CPU) composed on `device`
// exactly as the fit composed them, so the bytes are the fit's; weights and
// scalers on the CPU. The report is the caller's (the fit's figures).
absl::StatusOr<InitResult> RecomposeFitted(const TemplateBank& bank, const ViTConfig& target,
                                           const TensorMap& scalers, const TensorMap& head,
                                           const std::string& device);

absl::StatusOr<InitResult> InitializeTarget(const CheckedRequest& request,
                                            const ProgressFn& progress = nullptr,
                                            const CheckFn& check = nullptr);
// Checks, then initializes: for callers that have everything at once.
absl::StatusOr<InitResult> InitializeTarget(const TemplateBank& bank, const ViTConfig& target,
                                            const Dataset& few_shot, const FitOptions& options,
                                            const ProgressFn& progress = nullptr,
                                            const CheckFn& check = nullptr);

}  // namespace wave

#endif  // WAVE_CORE_INIT_INITIALIZE_H_
