#include "core/learn/baselines.h"

#include "core/model/vit.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

ViTConfig Size(int64_t depth, int64_t width) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = width / 16;
  return c;
}

TEST(WeightSelectionTest, SameSizeCopiesAndSmallerSelectsEvenlySpacedElements) {
  const ViTConfig a = Size(4, 64);
  TensorMap ancestry = DirectInit(a, 1);
  auto same = WeightSelectionInit(ancestry, a, a, 2);
  ASSERT_OK(same);
  EXPECT_TRUE(same->at("blocks.3.mlp.fc2.weight").equal(ancestry.at("blocks.3.mlp.fc2.weight")));
  auto small = WeightSelectionInit(ancestry, a, Size(2, 32), 2);
  ASSERT_OK(small);
  ASSERT_OK(ValidateParams(Size(2, 32), *small));
  // Width 64 -> 32: indices round(linspace(0, 63, 32)); index 1 is row 2.
  const at::Tensor& src = ancestry.at("blocks.1.attn.proj.weight");
  const at::Tensor& dst = small->at("blocks.1.attn.proj.weight");
  EXPECT_EQ(dst[1][0].item<float>(), src[2][0].item<float>());
  EXPECT_EQ(dst[31][31].item<float>(), src[63][63].item<float>());
  // k rows come from k rows: row 32 of the target is row 64 of the ancestry.
  EXPECT_EQ(small->at("blocks.0.attn.qkv.weight")[32][0].item<float>(),
            ancestry.at("blocks.0.attn.qkv.weight")[64][0].item<float>());
  EXPECT_STATUS(WeightSelectionInit(ancestry, a, Size(6, 64), 2),
                StatusCode::kFailedPrecondition, "no larger than the ancestry");
}

TEST(HeurLgTest, TopLayersComeFromTheAncestry) {
  const ViTConfig a = Size(4, 64);
  TensorMap ancestry = DirectInit(a, 1);
  auto init = HeurLgInit(ancestry, a, Size(5, 64), 3);
  ASSERT_OK(init);
  // Top two target layers (3, 4) are the ancestry's top two (2, 3).
  EXPECT_TRUE(init->at("blocks.4.attn.qkv.weight").equal(ancestry.at("blocks.3.attn.qkv.weight")));
  EXPECT_TRUE(init->at("blocks.3.mlp.fc1.weight").equal(ancestry.at("blocks.2.mlp.fc1.weight")));
  EXPECT_FALSE(init->at("blocks.0.mlp.fc1.weight").equal(ancestry.at("blocks.0.mlp.fc1.weight")));
  EXPECT_TRUE(init->at("pos_embed").equal(ancestry.at("pos_embed")));
  EXPECT_STATUS(HeurLgInit(ancestry, a, Size(4, 32), 3), StatusCode::kFailedPrecondition,
                "ancestry's width 64");
}

TEST(MimeticTest, AttentionProductsLeanTowardsPlusAndMinusIdentity) {
  const ViTConfig c = Size(2, 64);
  TensorMap p = MimeticInit(c, 5);
  ASSERT_OK(ValidateParams(c, p));
  const at::Tensor qkv = p.at("blocks.1.attn.qkv.weight").to(at::kDouble);
  const at::Tensor proj = p.at("blocks.1.attn.proj.weight").to(at::kDouble);
  for (int64_t h = 0; h < c.heads; ++h) {
    at::Tensor q = qkv.slice(0, h * 16, (h + 1) * 16);
    at::Tensor k = qkv.slice(0, 64 + h * 16, 64 + (h + 1) * 16);
    at::Tensor v = qkv.slice(0, 128 + h * 16, 128 + (h + 1) * 16);
    at::Tensor o = proj.slice(1, h * 16, (h + 1) * 16);
    EXPECT_GT(at::matmul(q.t(), k).diagonal().mean().item<double>(), 0.1);
    EXPECT_LT(at::matmul(o, v).diagonal().mean().item<double>(), -0.05);
  }
  // Direct initialization has no such structure.
  TensorMap d = DirectInit(c, 5);
  at::Tensor dq = d.at("blocks.1.attn.qkv.weight").slice(0, 0, 16).to(at::kDouble);
  at::Tensor dk = d.at("blocks.1.attn.qkv.weight").slice(0, 64, 80).to(at::kDouble);
  EXPECT_LT(std::abs(at::matmul(dq.t(), dk).diagonal().mean().item<double>()), 0.01);
}

}  // namespace
}  // namespace wave
