// Which parameters of a ViT are built from templates, and the shapes of each
// one's templates and scalers (docs/DESIGN.md, "Shapes"). No LibTorch.
//
// Every kind is stored in 3-D form: templates [N, p, q], scalers [N, a, b],
// composing into a [a*p, b*q] matrix that is reshaped to the parameter's
// shape. Vectors of length n use p = w, q = 1 (templates [N, w, 1]) and
// a = n / w, b = 1.
#ifndef WAVE_CORE_BASE_KINDS_H_
#define WAVE_CORE_BASE_KINDS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include <vector>

#include "core/base/vit_config.h"

namespace wave {

struct TemplatedParam {
  std::string name;     // timm name, e.g. "blocks.3.attn.qkv.weight"
  std::string kind;     // name without the block prefix, e.g. "attn.qkv.weight"
  int64_t layer = -1;   // block index, -1 outside the blocks
  int64_t a = 0, b = 0; // scaler grid
  int64_t p = 0, q = 0; // template shape
  std::vector<int64_t> shape;  // the parameter's timm shape
};

// All parameters but the head, in timm's order.
std::vector<TemplatedParam> TemplatedParams(const ViTConfig& config, const BankGeometry& geometry);

// The distinct kinds, with the template shape of each.
struct KindShape {
  std::string kind;
  int64_t p = 0, q = 0;
};
std::vector<KindShape> TemplateKinds(const ViTConfig& config, const BankGeometry& geometry);

// Every timm parameter name and shape of a model, head included.
std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes(const ViTConfig& config);

// The configuration of a standard timm ViT/DeiT checkpoint (class token,
// learned absolute position embedding over every patch and the class token,
// pre-norm blocks with a qkv bias, a linear head), read from its tensor
// shapes: depth, width, patch, channels, image side, MLP ratio and classes.
// `heads` comes from the caller (the shapes do not say it). What is not that
// model is refused naming the tensor (a distillation token, register tokens,
// layer scale, global pooling's fc_norm, another position embedding), and
// every name and shape is then checked against the configuration found.
absl::StatusOr<ViTConfig> ConfigFromTimmShapes(
    const std::map<std::string, std::vector<int64_t>>& shapes, int64_t heads);

// The block index in a "blocks.{l}.*" name, or -1.
int64_t LayerOf(const std::string& name);

}  // namespace wave

#endif  // WAVE_CORE_BASE_KINDS_H_
