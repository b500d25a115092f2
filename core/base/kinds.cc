#include "core/base/kinds.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"

namespace wave {
namespace {

TemplatedParam Matrix(std::string name, std::string kind, int64_t layer, int64_t rows,
                      int64_t cols, int64_t w) {
  return {std::move(name), std::move(kind), layer, rows / w, cols / w, w, w, {rows, cols}};
}

TemplatedParam Vector(std::string name, std::string kind, int64_t layer, int64_t n, int64_t w,
                      std::vector<int64_t> shape) {
  return {std::move(name), std::move(kind), layer, n / w, 1, w, 1, std::move(shape)};
}

}  // namespace

std::vector<TemplatedParam> TemplatedParams(const ViTConfig& c, const BankGeometry& g) {
  const int64_t d = c.width, m = c.mlp_hidden(), w = g.tile, t = c.tokens();
  const int64_t cpp = c.channels * c.patch * c.patch;
  std::vector<TemplatedParam> out;
  out.push_back(Vector("cls_token", "cls_token", -1, d, w, {1, 1, d}));
  out.push_back({"pos_embed", "pos_embed", -1, 1, d / w, t, w, {1, t, d}});
  out.push_back({"patch_embed.proj.weight", "patch_embed.proj.weight", -1, d / w, 1, w, cpp,
                 {d, c.channels, c.patch, c.patch}});
  out.push_back(Vector("patch_embed.proj.bias", "patch_embed.proj.bias", -1, d, w, {d}));
  for (int64_t l = 0; l < c.depth; ++l) {
    const std::string pre = absl::StrCat("blocks.", l, ".");
    auto vec = [&](const char* kind, int64_t n) {
      out.push_back(Vector(pre + kind, kind, l, n, w, {n}));
    };
    auto mat = [&](const char* kind, int64_t rows, int64_t cols) {
      out.push_back(Matrix(pre + kind, kind, l, rows, cols, w));
    };
    vec("norm1.weight", d);
    vec("norm1.bias", d);
    mat("attn.qkv.weight", 3 * d, d);
    vec("attn.qkv.bias", 3 * d);
    mat("attn.proj.weight", d, d);
    vec("attn.proj.bias", d);
    vec("norm2.weight", d);
    vec("norm2.bias", d);
    mat("mlp.fc1.weight", m, d);
    vec("mlp.fc1.bias", m);
    mat("mlp.fc2.weight", d, m);
    vec("mlp.fc2.bias", d);
  }
  out.push_back(Vector("norm.weight", "norm.weight", -1, d, w, {d}));
  out.push_back(Vector("norm.bias", "norm.bias", -1, d, w, {d}));
  return out;
}

std::vector<KindShape> TemplateKinds(const ViTConfig& config, const BankGeometry& geometry) {
  ViTConfig one = config;
  one.depth = 1;
  std::vector<KindShape> kinds;
  std::set<std::string> seen;
  for (const auto& p : TemplatedParams(one, geometry)) {
    if (seen.insert(p.kind).second) kinds.push_back({p.kind, p.p, p.q});
  }
  return kinds;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes(const ViTConfig& c) {
  BankGeometry g;
  g.tile = 1;  // any tile: only the parameter shapes are used
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (auto& p : TemplatedParams(c, g)) out.emplace_back(p.name, p.shape);
  out.emplace_back("head.weight", std::vector<int64_t>{c.classes, c.width});
  out.emplace_back("head.bias", std::vector<int64_t>{c.classes});
  return out;
}

namespace {

absl::Status Unsupported(const std::string& tensor, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("tensor '", tensor, "': ", why,
                   "; only a standard ViT (class token, learned absolute position embedding, "
                   "pre-norm blocks, linear head) can be an ancestry"));
}

}  // namespace

absl::StatusOr<ViTConfig> ConfigFromTimmShapes(
    const std::map<std::string, std::vector<int64_t>>& shapes, int64_t heads) {
  for (const auto& [name, shape] : shapes) {
    if (absl::StrContains(name, "dist_token") || absl::StartsWith(name, "head_dist")) {
      return Unsupported(name, "a distillation token (distilled DeiT) is not supported");
    }
    if (absl::StrContains(name, "reg_token")) return Unsupported(name, "register tokens are not supported");
    if (absl::StrContains(name, ".ls1.") || absl::StrContains(name, ".ls2.")) {
      return Unsupported(name, "layer scale is not supported");
    }
    if (absl::StartsWith(name, "fc_norm")) {
      return Unsupported(name, "global average pooling (fc_norm) is not supported");
    }
    if (absl::StrContains(name, "rel_pos") || absl::StrContains(name, "q_norm")) {
      return Unsupported(name, "this attention variant is not supported");
    }
  }
  auto get = [&](const std::string& name) -> absl::StatusOr<std::vector<int64_t>> {
    auto it = shapes.find(name);
    if (it == shapes.end()) {
      return Unsupported(name, "missing");
    }
    return it->second;
  };
  auto cls = get("cls_token");
  if (!cls.ok()) return Unsupported("cls_token", "missing: a model without a class token is not supported");
  ASSIGN_OR_RETURN(auto patch, get("patch_embed.proj.weight"));
  ASSIGN_OR_RETURN(auto pos, get("pos_embed"));
  ASSIGN_OR_RETURN(auto head, get("head.weight"));
  ASSIGN_OR_RETURN(auto fc1, get("blocks.0.mlp.fc1.weight"));
  if (cls->size() != 3 || patch.size() != 4 || pos.size() != 3 || head.size() != 2 ||
      fc1.size() != 2) {
    return Unsupported("patch_embed.proj.weight", "unexpected ranks of cls_token, patch_embed, pos_embed or head");
  }
  ViTConfig c;
  c.width = (*cls)[2];
  c.channels = patch[1];
  c.patch = patch[2];
  c.classes = head[0];
  c.mlp_ratio = c.width > 0 ? fc1[0] / c.width : 0;
  const int64_t patches = pos[1] - 1;
  int64_t grid = 0;
  while ((grid + 1) * (grid + 1) <= patches) ++grid;
  if (grid * grid != patches || patch[2] != patch[3]) {
    return Unsupported("pos_embed", absl::StrCat("has ", pos[1], " positions, not a square grid of "
                                                 "patches plus the class token (another position "
                                                 "embedding?)"));
  }
  c.image_size = grid * c.patch;
  c.depth = 0;
  while (shapes.count(absl::StrCat("blocks.", c.depth, ".attn.qkv.weight"))) ++c.depth;
  if (heads <= 0) {
    return absl::InvalidArgumentError(
        "the checkpoint does not say its attention heads; give them (--ancestry_heads)");
  }
  c.heads = heads;
  RETURN_IF_ERROR(ValidateConfig(c));
  std::map<std::string, std::vector<int64_t>> expected;
  for (auto& [name, shape] : ParamShapes(c)) expected[name] = shape;
  for (const auto& [name, shape] : shapes) {
    auto it = expected.find(name);
    if (it == expected.end()) return Unsupported(name, "not a parameter of the standard ViT");
    if (it->second != shape) {
      return Unsupported(name, absl::StrCat("has shape [", absl::StrJoin(shape, ", "),
                                            "], the standard ViT of this size [",
                                            absl::StrJoin(it->second, ", "), "]"));
    }
  }
  for (const auto& [name, shape] : expected) {
    if (!shapes.count(name)) return Unsupported(name, "missing");
  }
  return c;
}

int64_t LayerOf(const std::string& name) {
  if (!absl::StartsWith(name, "blocks.")) return -1;
  size_t dot = name.find('.', 7);
  int64_t layer = -1;
  if (dot == std::string::npos || !absl::SimpleAtoi(name.substr(7, dot - 7), &layer)) return -1;
  return layer;
}

}  // namespace wave
