#include "core/model/vit.h"

#include <torch/torch.h>

#include "core/base/kinds.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

// An independent reference built from torch::nn modules: Conv2d patches,
// LayerNorm(eps 1e-6), nn::MultiheadAttention (same q|k|v row order as timm's
// qkv), Linear + GELU MLP, pre-norm residuals.
at::Tensor ReferenceForward(const ViTConfig& c, const TensorMap& p, const at::Tensor& images) {
  torch::NoGradGuard no_grad;
  const int64_t d = c.width;
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c.channels, d, c.patch).stride(c.patch));
  conv->weight.copy_(p.at("patch_embed.proj.weight"));
  conv->bias.copy_(p.at("patch_embed.proj.bias"));
  auto norm = [&](const std::string& prefix) {
    torch::nn::LayerNorm ln(torch::nn::LayerNormOptions({d}).eps(1e-6));
    ln->weight.copy_(p.at(prefix + ".weight"));
    ln->bias.copy_(p.at(prefix + ".bias"));
    return ln;
  };
  auto linear = [&](const std::string& prefix, int64_t in, int64_t out) {
    torch::nn::Linear l(in, out);
    l->weight.copy_(p.at(prefix + ".weight"));
    l->bias.copy_(p.at(prefix + ".bias"));
    return l;
  };
  at::Tensor x = conv(images).flatten(2).transpose(1, 2);
  x = torch::cat({p.at("cls_token").expand({images.size(0), 1, d}), x}, 1) + p.at("pos_embed");
  for (int64_t l = 0; l < c.depth; ++l) {
    const std::string pre = "blocks." + std::to_string(l) + ".";
    torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(d, c.heads));
    mha->in_proj_weight.copy_(p.at(pre + "attn.qkv.weight"));
    mha->in_proj_bias.copy_(p.at(pre + "attn.qkv.bias"));
    mha->out_proj->weight.copy_(p.at(pre + "attn.proj.weight"));
    mha->out_proj->bias.copy_(p.at(pre + "attn.proj.bias"));
    at::Tensor y = norm(pre + "norm1")(x).transpose(0, 1);  // [T, B, D]
    x = x + std::get<0>(mha(y, y, y)).transpose(0, 1);
    auto fc1 = linear(pre + "mlp.fc1", d, c.mlp_hidden());
    auto fc2 = linear(pre + "mlp.fc2", c.mlp_hidden(), d);
    x = x + fc2(torch::nn::GELU()(fc1(norm(pre + "norm2")(x))));
  }
  x = norm("norm")(x);
  return linear("head", d, c.classes)(x.select(1, 0));
}

// A width-64 ViT with 4 heads, and parameters of larger random values than
// the init, so that every path of the forward pass matters.
ViTConfig SmallConfig(int64_t depth, int64_t classes) {
  ViTConfig c;
  c.depth = depth;
  c.width = 64;
  c.heads = 4;
  c.classes = classes;
  return c;
}

TensorMap RandomParams(const ViTConfig& c, at::Generator& gen) {
  TensorMap params = DirectInit(c, 11);
  for (auto& [name, t] : params) t = at::empty_like(t).normal_(0, 0.3, gen);
  return params;
}

TEST(VitTest, MatchesTorchNnReference) {
  const ViTConfig c = SmallConfig(2, 7);
  at::Generator gen = MakeGenerator(12);
  TensorMap params = RandomParams(c, gen);
  ASSERT_OK(ValidateParams(c, params));
  at::Tensor images = at::empty({5, 1, 28, 28}).normal_(0, 1, gen);
  at::Tensor ours = VitForward(c, params, images);
  at::Tensor ref = ReferenceForward(c, params, images);
  ASSERT_EQ(ours.sizes(), (std::vector<int64_t>{5, 7}));
  EXPECT_TRUE(at::allclose(ours, ref, 1e-4, 1e-4)) << (ours - ref).abs().max();
}

// The forward pass split at any block gives the whole pass's features, and
// the second part reads only its own blocks' parameters and the final norm.
TEST(VitTest, SplitAtAnyBlockGivesTheSameFeatures) {
  const ViTConfig c = SmallConfig(3, 5);
  at::Generator gen = MakeGenerator(4);
  const TensorMap params = RandomParams(c, gen);
  at::Tensor images = at::empty({4, 1, 28, 28}).normal_(0, 1, gen);
  const at::Tensor whole = VitFeatures(c, params, images);
  for (int64_t split = 0; split <= c.depth; ++split) {
    const at::Tensor tokens = VitTokens(c, params, images, split);
    ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{4, c.tokens(), c.width}));
    TensorMap after;
    for (const auto& [name, t] : params) {
      const bool in_later_block = name.rfind("blocks.", 0) == 0 &&
                                  std::stoll(name.substr(7, name.find('.', 7) - 7)) >= split;
      if (in_later_block || name.rfind("norm.", 0) == 0) after[name] = t;
    }
    const at::Tensor features = VitFeaturesFromTokens(c, after, tokens, split);
    EXPECT_TRUE(at::allclose(features, whole, 1e-5, 1e-5))
        << "split " << split << ": " << (features - whole).abs().max();
  }
}

TEST(VitTest, ValidateParamsNamesTheProblem) {
  ViTConfig c;
  c.depth = 1;
  c.width = 32;
  c.heads = 1;
  TensorMap params = DirectInit(c, 1);
  params["blocks.0.mlp.fc1.weight"] = at::zeros({3, 3});
  EXPECT_STATUS(ValidateParams(c, params), absl::StatusCode::kInvalidArgument,
                "parameter 'blocks.0.mlp.fc1.weight' has shape [3, 3], expected [128, 32]");
  params = DirectInit(c, 1);
  params.erase("norm.bias");
  EXPECT_STATUS(ValidateParams(c, params), absl::StatusCode::kInvalidArgument,
                "missing parameter 'norm.bias'");
  params = DirectInit(c, 1);
  params["extra"] = at::zeros({1});
  EXPECT_STATUS(ValidateParams(c, params), absl::StatusCode::kInvalidArgument,
                "unexpected parameter 'extra'");
}

TEST(VitTest, DirectInitFollowsTimmDefaults) {
  ViTConfig c;
  c.depth = 2;
  c.width = 128;
  TensorMap p = DirectInit(c, 3);
  EXPECT_NEAR(p["blocks.0.attn.qkv.weight"].std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(p["pos_embed"].std().item<double>(), 0.02, 0.003);
  EXPECT_LT(p["cls_token"].abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(p["blocks.1.norm2.weight"].eq(1).all().item<bool>());
  EXPECT_TRUE(p["blocks.1.mlp.fc1.bias"].eq(0).all().item<bool>());
  // Seeded: same seed, same weights.
  EXPECT_TRUE(DirectInit(c, 3)["head.weight"].equal(p["head.weight"]));
  EXPECT_FALSE(DirectInit(c, 4)["head.weight"].equal(p["head.weight"]));
}

}  // namespace
}  // namespace wave
