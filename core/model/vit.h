// The ViT forward pass from a name -> tensor map with timm's names, so one
// code path runs ordinary, template-composed and baseline weights alike.
#ifndef WAVE_CORE_MODEL_VIT_H_
#define WAVE_CORE_MODEL_VIT_H_

#include <ATen/ATen.h>

#include <cstdint>

#include "absl/status/status.h"
#include "core/base/vit_config.h"
#include "core/model/tensor_io.h"

namespace wave {

// Checks that `params` holds exactly the model's timm names with their shapes
// (all floating point, on one device).
absl::Status ValidateParams(const ViTConfig& config, const TensorMap& params);

// images: normalized float [B, C, s, s]. Returns logits [B, classes].
// Requires ValidateParams(config, params) to hold.
at::Tensor VitForward(const ViTConfig& config, const TensorMap& params, const at::Tensor& images);
// What the head sees: the class token after the final norm, [B, width].
at::Tensor VitFeatures(const ViTConfig& config, const TensorMap& params, const at::Tensor& images);

// The forward pass in two parts, for a fit that trains only the last blocks:
// VitTokens runs the patch embedding and blocks [0, blocks), [B, T, width];
// VitFeaturesFromTokens runs blocks [first_block, depth) and the final norm
// on such tokens and returns the class token. Each reads only the parameters
// of its own part, so `params` may hold just those.
at::Tensor VitTokens(const ViTConfig& config, const TensorMap& params, const at::Tensor& images,
                     int64_t blocks);
at::Tensor VitFeaturesFromTokens(const ViTConfig& config, const TensorMap& params,
                                 const at::Tensor& tokens, int64_t first_block);

// timm's default initialization (init_weights('')): normal std 0.02 for
// linear weights and pos_embed, std 1e-6 for cls_token, zero biases, unit
// norms; the patch convolution keeps PyTorch's default uniform
// +-1/sqrt(fan_in).
TensorMap DirectInit(const ViTConfig& config, uint64_t seed);

// A seeded CPU generator.
at::Generator MakeGenerator(uint64_t seed);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_VIT_H_
