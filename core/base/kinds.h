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
#include <string>
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

// The block index in a "blocks.{l}.*" name, or -1.
int64_t LayerOf(const std::string& name);

}  // namespace wave

#endif  // WAVE_CORE_BASE_KINDS_H_
