#include "core/model/vit.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/kinds.h"
#include "core/model/attention.h"

namespace wave {

absl::Status ValidateParams(const ViTConfig& config, const TensorMap& params) {
  auto shapes = ParamShapes(config);
  if (params.size() != shapes.size()) {
    for (const auto& [name, tensor] : params) {
      bool known = false;
      for (const auto& s : shapes) known |= s.first == name;
      if (!known) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected parameter '", name, "'"));
      }
    }
  }
  for (const auto& [name, shape] : shapes) {
    auto it = params.find(name);
    if (it == params.end()) {
      return absl::InvalidArgumentError(absl::StrCat("missing parameter '", name, "'"));
    }
    if (it->second.sizes().vec() != shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter '", name, "' has shape [", absl::StrJoin(it->second.sizes().vec(), ", "),
          "], expected [", absl::StrJoin(shape, ", "), "]"));
    }
    if (!at::isFloatingType(it->second.scalar_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "' is not floating point"));
    }
  }
  return absl::OkStatus();
}

at::Tensor VitForward(const ViTConfig& c, const TensorMap& p, const at::Tensor& images) {
  return at::linear(VitFeatures(c, p, images), p.at("head.weight"), p.at("head.bias"));
}

namespace {

// Block `l` of the encoder on tokens x [B, T, D].
at::Tensor Block(const ViTConfig& c, const TensorMap& p, at::Tensor x, int64_t l) {
  const std::string pre = absl::StrCat("blocks.", l, ".");
  auto w = [&](const char* name) -> const at::Tensor& { return p.at(pre + name); };
  const int64_t batch = x.size(0), d = c.width, t = c.tokens(), h = c.heads;
  const int64_t dh = c.head_dim();
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  at::Tensor y = at::layer_norm(x, {d}, w("norm1.weight"), w("norm1.bias"), 1e-6);
  at::Tensor qkv = at::linear(y, w("attn.qkv.weight"), w("attn.qkv.bias"))
                       .reshape({batch, t, 3, h, dh})
                       .permute({2, 0, 3, 1, 4});  // [3, B, H, T, dh]
  auto heads = [&](int64_t i) { return qkv[i].reshape({batch * h, t, dh}); };
  y = Attention(heads(0), heads(1), heads(2), scale)
          .view({batch, h, t, dh})
          .transpose(1, 2)
          .reshape({batch, t, d});
  x = x + at::linear(y, w("attn.proj.weight"), w("attn.proj.bias"));
  y = at::layer_norm(x, {d}, w("norm2.weight"), w("norm2.bias"), 1e-6);
  y = at::gelu(at::linear(y, w("mlp.fc1.weight"), w("mlp.fc1.bias")));
  return x + at::linear(y, w("mlp.fc2.weight"), w("mlp.fc2.bias"));
}

}  // namespace

at::Tensor VitTokens(const ViTConfig& c, const TensorMap& p, const at::Tensor& images,
                     int64_t blocks) {
  const int64_t batch = images.size(0), d = c.width;
  at::Tensor x = at::conv2d(images, p.at("patch_embed.proj.weight"), p.at("patch_embed.proj.bias"),
                            {c.patch, c.patch});
  x = x.flatten(2).transpose(1, 2);  // [B, g*g, D]
  x = at::cat({p.at("cls_token").expand({batch, 1, d}), x}, 1) + p.at("pos_embed");
  for (int64_t l = 0; l < blocks; ++l) x = Block(c, p, x, l);
  return x;
}

at::Tensor VitFeaturesFromTokens(const ViTConfig& c, const TensorMap& p, const at::Tensor& tokens,
                                 int64_t first_block) {
  at::Tensor x = tokens;
  for (int64_t l = first_block; l < c.depth; ++l) x = Block(c, p, x, l);
  x = at::layer_norm(x, {c.width}, p.at("norm.weight"), p.at("norm.bias"), 1e-6);
  return x.select(1, 0);
}

at::Tensor VitFeatures(const ViTConfig& c, const TensorMap& p, const at::Tensor& images) {
  return VitFeaturesFromTokens(c, p, VitTokens(c, p, images, c.depth), c.depth);
}

at::Generator MakeGenerator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

TensorMap DirectInit(const ViTConfig& config, uint64_t seed) {
  at::Generator gen = MakeGenerator(seed);
  TensorMap out;
  const double conv_bound = 1.0 / std::sqrt(static_cast<double>(config.channels * config.patch *
                                                                 config.patch));
  for (const auto& [name, shape] : ParamShapes(config)) {
    at::Tensor t = at::empty(shape, at::kFloat);
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    const bool is_norm = name.find("norm") != std::string::npos;
    if (name == "cls_token") {
      t.normal_(0.0, 1e-6, gen);
    } else if (name == "patch_embed.proj.weight" || name == "patch_embed.proj.bias") {
      t.uniform_(-conv_bound, conv_bound, gen);
    } else if (is_norm) {
      t.fill_(is_bias ? 0.0 : 1.0);
    } else if (is_bias) {
      t.zero_();
    } else {  // linear weights, pos_embed
      t.normal_(0.0, 0.02, gen);
    }
    out[name] = t;
  }
  return out;
}

}  // namespace wave
