#include "core/base/kinds.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

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

int64_t LayerOf(const std::string& name) {
  if (!absl::StartsWith(name, "blocks.")) return -1;
  size_t dot = name.find('.', 7);
  int64_t layer = -1;
  if (dot == std::string::npos || !absl::SimpleAtoi(name.substr(7, dot - 7), &layer)) return -1;
  return layer;
}

}  // namespace wave
