#include "core/base/vit_config.h"

#include "core/base/kinds.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

ViTConfig Target(int64_t depth, int64_t width) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = width / 32;
  return c;
}

TEST(VitConfigTest, AcceptsValidTargets) {
  BankGeometry g;
  EXPECT_OK(ValidateTarget(Target(6, 128), g));
  EXPECT_OK(ValidateTarget(Target(2, 64), g));
  EXPECT_OK(ValidateTarget(Target(12, 256), g));
}

TEST(VitConfigTest, RejectsWidthOffTheTileGrid) {
  EXPECT_STATUS(ValidateTarget(Target(6, 100), BankGeometry{}), StatusCode::kInvalidArgument,
                "width: must be a multiple of lcm(tile 32, head_dim 32) = 32, got 100");
}

TEST(VitConfigTest, RejectsHeadsThatDisagreeWithHeadDim) {
  ViTConfig c = Target(6, 128);
  c.heads = 8;
  EXPECT_STATUS(ValidateTarget(c, BankGeometry{}), StatusCode::kInvalidArgument,
                "heads: must be width / head_dim = 4");
}

TEST(VitConfigTest, RejectsOtherGeometry) {
  ViTConfig c = Target(6, 128);
  c.patch = 4;
  EXPECT_STATUS(ValidateTarget(c, BankGeometry{}), StatusCode::kInvalidArgument,
                "patch: the bank's templates fix it to 7");
  c = Target(6, 128);
  c.channels = 3;
  EXPECT_STATUS(ValidateTarget(c, BankGeometry{}), StatusCode::kInvalidArgument, "channels");
}

TEST(VitConfigTest, RejectsNonPositiveAndHugeSizes) {
  EXPECT_STATUS(ValidateConfig(Target(0, 128)), StatusCode::kInvalidArgument,
                "depth: must be in [1, 65536], got 0");
  EXPECT_STATUS(ValidateConfig(Target(1 << 20, 128)), StatusCode::kInvalidArgument, "depth");
  ViTConfig c = Target(6, 128);
  c.heads = 3;
  EXPECT_STATUS(ValidateConfig(c), StatusCode::kInvalidArgument, "heads: must divide width 128");
}

TEST(VitConfigTest, CompleteTargetFillsHeadsFromTheBank) {
  ViTConfig c;
  c.depth = 9;
  c.width = 192;
  c.heads = 0;
  auto done = CompleteTarget(c, BankGeometry{});
  ASSERT_OK(done);
  EXPECT_EQ(done->heads, 6);
}

TEST(VitConfigTest, ParseTargetSizeReadsDepthByWidth) {
  auto c = ParseTargetSize("9x192", 7, BankGeometry{});
  ASSERT_OK(c);
  EXPECT_EQ(c->depth, 9);
  EXPECT_EQ(c->width, 192);
  EXPECT_EQ(c->heads, 6);
  EXPECT_EQ(c->classes, 7);
  EXPECT_EQ(c->patch, 7);
  EXPECT_STATUS(ParseTargetSize("9by192", 10, BankGeometry{}), StatusCode::kInvalidArgument,
                "size '9by192' is not DEPTHxWIDTH");
  EXPECT_STATUS(ParseTargetSize("9x", 10, BankGeometry{}), StatusCode::kInvalidArgument,
                "is not DEPTHxWIDTH");
  EXPECT_STATUS(ParseTargetSize("9x100", 10, BankGeometry{}), StatusCode::kInvalidArgument,
                "width: must be a multiple of lcm");
}

TEST(VitConfigTest, JsonRoundTrips) {
  ViTConfig c = Target(9, 192);
  auto back = ConfigFromJson(ConfigToJson(c));
  ASSERT_OK(back);
  EXPECT_TRUE(*back == c);
  BankGeometry g;
  g.tile = 16;
  auto gback = GeometryFromJson(GeometryToJson(g));
  ASSERT_OK(gback);
  EXPECT_TRUE(*gback == g);
  EXPECT_STATUS(ConfigFromJson("{\"depth\": 3}"), StatusCode::kInvalidArgument, "'width'");
  EXPECT_STATUS(ConfigFromJson("nope"), StatusCode::kInvalidArgument, "not a JSON object");
}

TEST(VitConfigTest, ParamCountMatchesTheShapeTable) {
  ViTConfig c = Target(3, 64);
  int64_t total = 0;
  for (const auto& [name, shape] : ParamShapes(c)) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    total += n;
  }
  EXPECT_EQ(total, c.ParamCount());
  EXPECT_EQ(ParamShapes(c).size(), 4u + 3 * 12 + 2 + 2);
}

TEST(KindsTest, ScalerGridsFollowTheDesignTable) {
  BankGeometry g;
  ViTConfig c = Target(2, 96);
  for (const auto& p : TemplatedParams(c, g)) {
    EXPECT_EQ(p.a * p.p * p.b * p.q,
              [&] {
                int64_t n = 1;
                for (int64_t d : p.shape) n *= d;
                return n;
              }())
        << p.name;
    if (p.kind == "attn.qkv.weight") {
      EXPECT_EQ(p.a, 3 * 96 / 32);
      EXPECT_EQ(p.b, 96 / 32);
    }
    if (p.kind == "pos_embed") {
      EXPECT_EQ(p.p, c.tokens());
      EXPECT_EQ(p.b, 3);
    }
  }
  EXPECT_EQ(LayerOf("blocks.11.mlp.fc1.weight"), 11);
  EXPECT_EQ(LayerOf("pos_embed"), -1);
}

}  // namespace
}  // namespace wave
