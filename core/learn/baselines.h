// The initializations WAVE is compared with (docs/DESIGN.md,
// "Baselines"). Direct is DirectInit in vit.h.
#ifndef WAVE_CORE_LEARN_BASELINES_H_
#define WAVE_CORE_LEARN_BASELINES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/base/vit_config.h"
#include "core/model/tensor_io.h"

namespace wave {

// Weight Selection (Xu et al., ICLR 2024): the first layers of a larger
// ancestry and, in every tensor, evenly spaced elements along each axis,
// the same indices for the same axis everywhere (q, k and v apart).
// FAILED_PRECONDITION when the target is deeper or wider than the ancestry.
absl::StatusOr<TensorMap> WeightSelectionInit(const TensorMap& ancestry,
                                              const ViTConfig& ancestry_config,
                                              const ViTConfig& target, uint64_t seed);

// Heur-LG: the ancestry's top half of layers become the target's top layers
// (with its stem and final norm); the layers below are initialized directly.
// FAILED_PRECONDITION unless the widths agree.
absl::StatusOr<TensorMap> HeurLgInit(const TensorMap& ancestry, const ViTConfig& ancestry_config,
                                     const ViTConfig& target, uint64_t seed);

// Mimetic initialization (Trockman & Kolter, 2023), no data: per head,
// W_q^T W_k ~ a1 Z1 + b1 I and W_proj W_v ~ a2 Z2 - b2 I with Z random of
// variance 1/D; everything else initialized directly.
TensorMap MimeticInit(const ViTConfig& target, uint64_t seed, double a1 = 0.7, double b1 = 0.7,
                      double a2 = 0.4, double b2 = 0.4);

}  // namespace wave

#endif  // WAVE_CORE_LEARN_BASELINES_H_
