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
  // Across width, tiles (and heads, and MLP units) are selected, never
  // blended: each target tile is a copy of the nearest source tile, and where
  // one feeds several, the weights reading them are split evenly (Net2Net's
  // widening, at tile granularity). Doubling the width is then exact: the
  // same function. Narrowing drops tiles, as Weight Selection does. Depth as
  // kStructured.
  kSelect,
};

absl::StatusOr<ScalerInit> ParseScalerInit(const std::string& name);
const char* ScalerInitName(ScalerInit scheme);

// How the auxiliaries of a bank with several feed a target's scalers.
enum class AuxiliaryMix {
  // The nearest auxiliary alone (|log depth ratio| + |log width ratio|). The
  // default: averaging two auxiliaries' scalers averages two networks whose
  // units are not aligned, and measured far worse (research/results/multi-aux).
  kNearest,
  // The two nearest, weighted by inverse distance (the one at the target's
  // own size alone, exactly). Kept to be measured against kNearest.
  kBlend,
  // The nearest of those no wider than the target (of all, if none is): with
  // kSelect, widening copies tiles and keeps the function, narrowing drops them.
  kNearestNarrower,
};

absl::StatusOr<AuxiliaryMix> ParseAuxiliaryMix(const std::string& name);
const char* AuxiliaryMixName(AuxiliaryMix mix);

// The auxiliary models a target's scalers come from, with their weights
// (summing to 1). With one auxiliary, that one.
std::vector<std::pair<const AuxiliaryModel*, double>> AuxiliarySources(const TemplateBank& bank,
                                                                       const ViTConfig& target,
                                                                       AuxiliaryMix mix);
// Where the head comes from: the first of AuxiliarySources.
const AuxiliaryModel& NearestAuxiliary(const TemplateBank& bank, const ViTConfig& target,
                                       AuxiliaryMix mix = AuxiliaryMix::kNearest);

// Scalers for every templated parameter of `target` (validated against the
// bank): each source auxiliary's scalers resampled to the target, weighted.
// The head is separate: see ResampleHead.
absl::StatusOr<TensorMap> ResampleScalers(const TemplateBank& bank, const ViTConfig& target,
                                          ScalerInit scheme,
                                          AuxiliaryMix mix = AuxiliaryMix::kNearest);

// The auxiliary's head carried to `target`'s width (same classes required),
// along the residual stream as `scheme` carries the scalers.
TensorMap ResampleHead(const AuxiliaryModel& aux, const ViTConfig& target, const BankGeometry& g,
                       ScalerInit scheme);

// Linear interpolation matrix [to, from] with aligned end points.
at::Tensor InterpolationMatrix(int64_t to, int64_t from);

// Selection matrix [to, from]: row i picks the source nearest to i's aligned
// position. With `split_inputs`, each column is divided by how many rows
// picked it (the map for an axis a layer reads from).
at::Tensor SelectionMatrix(int64_t to, int64_t from, bool split_inputs);

}  // namespace wave

#endif  // WAVE_CORE_BANK_SCALER_INIT_H_
