// Scalers for a size the bank never saw, resampled from an auxiliary
// model's (docs/DESIGN.md, "Initializing a new size", step 1).
#ifndef WAVE_CORE_BANK_SCALER_INIT_H_
#define WAVE_CORE_BANK_SCALER_INIT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"

namespace wave {

enum class ScalerInit {
  // Linear resampling along depth and along each grid axis, respecting the
  // axes' structure: q, k, v apart and heads as units, paired axes sharing
  // one map (residual stream everywhere, heads for v rows and proj columns,
  // MLP hidden for fc1 rows and fc2 columns). Fan-in rescaled.
  kStructured,
  // Bilinear over each whole grid, blind to its structure (the prototype's
  // scheme, kept as a baseline). Fan-in rescaled.
  kNaive,
};

absl::StatusOr<ScalerInit> ParseScalerInit(const std::string& name);
const char* ScalerInitName(ScalerInit scheme);

// The auxiliary models a target's scalers come from, with their weights
// (summing to 1): the one at the target's own size alone; otherwise the two
// nearest in depth and width (|log depth ratio| + |log width ratio|),
// weighted by inverse distance. With one auxiliary, that one.
std::vector<std::pair<const AuxiliaryModel*, double>> AuxiliaryBlend(const TemplateBank& bank,
                                                                     const ViTConfig& target);
// The first of AuxiliaryBlend: where the head comes from.
const AuxiliaryModel& NearestAuxiliary(const TemplateBank& bank, const ViTConfig& target);

// Scalers for every templated parameter of `target` (validated against the
// bank): each blended auxiliary's scalers resampled to the target, weighted.
// The head is separate: see ResampleHead.
absl::StatusOr<TensorMap> ResampleScalers(const TemplateBank& bank, const ViTConfig& target,
                                          ScalerInit scheme);

// The auxiliary's head carried to `target`'s width (same classes required).
TensorMap ResampleHead(const AuxiliaryModel& aux, const ViTConfig& target);

// Linear interpolation matrix [to, from] with aligned end points.
at::Tensor InterpolationMatrix(int64_t to, int64_t from);

}  // namespace wave

#endif  // WAVE_CORE_BANK_SCALER_INIT_H_
