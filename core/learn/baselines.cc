#include "core/learn/baselines.h"

#include <c10/core/GradMode.h>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/base/kinds.h"
#include "core/model/vit.h"

namespace wave {
namespace {

// n evenly spaced indices of 0..size-1 (first and last included).
at::Tensor Evenly(int64_t n, int64_t size) {
  if (n == size) return at::arange(size, at::kLong);
  return at::linspace(0, size - 1, n, at::kDouble).round().to(at::kLong);
}

}  // namespace

absl::StatusOr<TensorMap> WeightSelectionInit(const TensorMap& ancestry,
                                              const ViTConfig& a, const ViTConfig& t,
                                              uint64_t seed) {
  if (t.depth > a.depth || t.width > a.width) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weight selection needs a target no larger than the ancestry ", a.ShortName()));
  }
  c10::NoGradGuard no_grad;
  const at::Tensor d = Evenly(t.width, a.width);
  const at::Tensor m = Evenly(t.mlp_hidden(), a.mlp_hidden());
  const at::Tensor qkv = at::cat({d, d + a.width, d + 2 * a.width});
  TensorMap out = DirectInit(t, seed);  // head stays task-specific
  for (auto& [name, w] : out) {
    if (name.rfind("head.", 0) == 0) continue;
    const at::Tensor& src = ancestry.at(name);
    at::Tensor v;
    const int64_t layer = LayerOf(name);
    const std::string kind = layer >= 0 ? name.substr(name.find('.', 7) + 1) : name;
    if (kind == "attn.qkv.weight") {
      v = src.index_select(0, qkv).index_select(1, d);
    } else if (kind == "attn.qkv.bias") {
      v = src.index_select(0, qkv);
    } else if (kind == "mlp.fc1.weight") {
      v = src.index_select(0, m).index_select(1, d);
    } else if (kind == "mlp.fc1.bias") {
      v = src.index_select(0, m);
    } else if (kind == "mlp.fc2.weight") {
      v = src.index_select(0, d).index_select(1, m);
    } else if (kind == "attn.proj.weight") {
      v = src.index_select(0, d).index_select(1, d);
    } else if (name == "cls_token" || name == "pos_embed") {
      v = src.index_select(2, d);
    } else if (name == "patch_embed.proj.weight") {
      v = src.index_select(0, d);
    } else {  // vectors along the residual stream
      v = src.index_select(0, d);
    }
    w = v.clone();
  }
  return out;
}

absl::StatusOr<TensorMap> HeurLgInit(const TensorMap& ancestry, const ViTConfig& a,
                                     const ViTConfig& t, uint64_t seed) {
  if (t.width != a.width) {
    return absl::FailedPreconditionError(
        absl::StrCat("Heur-LG needs the ancestry's width ", a.width));
  }
  TensorMap out = DirectInit(t, seed);
  const int64_t inherit = std::min(t.depth, (a.depth + 1) / 2);
  for (auto& [name, w] : out) {
    const int64_t layer = LayerOf(name);
    if (name.rfind("head.", 0) == 0) continue;
    if (layer < 0) {
      w = ancestry.at(name).clone();
      continue;
    }
    const int64_t from_top = t.depth - layer;  // 1 for the top layer
    if (from_top <= inherit) {
      const int64_t src_layer = a.depth - from_top;
      const std::string rest = name.substr(name.find('.', 7));
      w = ancestry.at(absl::StrCat("blocks.", src_layer, rest)).clone();
    }
  }
  return out;
}

TensorMap MimeticInit(const ViTConfig& t, uint64_t seed, double a1, double b1, double a2,
                      double b2) {
  c10::NoGradGuard no_grad;
  TensorMap out = DirectInit(t, seed);
  at::Generator gen = MakeGenerator(seed + 7919);
  const int64_t d = t.width, dh = t.head_dim();
  const at::Tensor eye = at::eye(d, at::kDouble);
  // Factor a target D x D matrix into [D, dh] x [dh, D] by its top dh
  // singular directions.
  auto factor = [&](const at::Tensor& target) {
    auto [u, s, vh] = at::linalg_svd(target, false);
    at::Tensor root = s.slice(0, 0, dh).sqrt();
    return std::make_pair(u.slice(1, 0, dh) * root.unsqueeze(0),        // [D, dh]
                          root.unsqueeze(1) * vh.slice(0, 0, dh));      // [dh, D]
  };
  for (int64_t l = 0; l < t.depth; ++l) {
    const std::string pre = absl::StrCat("blocks.", l, ".");
    at::Tensor qkv = out[pre + "attn.qkv.weight"];  // [3D, D]
    at::Tensor proj = out[pre + "attn.proj.weight"];  // [D, D]
    for (int64_t h = 0; h < t.heads; ++h) {
      at::Tensor z1 = at::empty({d, d}, at::kDouble).normal_(0, 1.0 / std::sqrt(d), gen);
      auto [q_t, k] = factor(a1 * z1 + b1 * eye);  // W_q^T W_k = q_t k
      qkv.slice(0, h * dh, (h + 1) * dh).copy_(q_t.t());
      qkv.slice(0, d + h * dh, d + (h + 1) * dh).copy_(k);
      at::Tensor z2 = at::empty({d, d}, at::kDouble).normal_(0, 1.0 / std::sqrt(d), gen);
      auto [p, v] = factor(a2 * z2 - b2 * eye);  // W_proj W_v = p v
      qkv.slice(0, 2 * d + h * dh, 2 * d + (h + 1) * dh).copy_(v);
      proj.slice(1, h * dh, (h + 1) * dh).copy_(p);
    }
  }
  return out;
}

}  // namespace wave
