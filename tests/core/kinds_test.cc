// Which parameters are templated, and their grids: every timm parameter but
// the head, each composing to exactly its own element count.
#include "core/base/kinds.h"

#include <map>

#include "gtest/gtest.h"
#include "tests/core/bank_fixture.h"

namespace wave {
namespace {

TEST(KindsTest, EveryParameterButTheHeadIsTemplatedWithAGridThatFits) {
  const BankGeometry geometry = testing::TinyGeometry();
  const ViTConfig config = testing::TinyConfig(3, 64);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, shape] : ParamShapes(config)) shapes[name] = shape;
  const auto params = TemplatedParams(config, geometry);
  EXPECT_EQ(params.size() + 2, shapes.size());  // all but head.weight and head.bias
  for (const auto& p : params) {
    ASSERT_TRUE(shapes.count(p.name)) << p.name;
    EXPECT_EQ(p.shape, shapes[p.name]) << p.name;
    int64_t elements = 1;
    for (int64_t d : p.shape) elements *= d;
    EXPECT_EQ(p.a * p.p * p.b * p.q, elements) << p.name;
    EXPECT_EQ(p.layer, LayerOf(p.name)) << p.name;
  }
  EXPECT_EQ(LayerOf("blocks.12.attn.qkv.weight"), 12);
  EXPECT_EQ(LayerOf("pos_embed"), -1);
  for (const auto& k : TemplateKinds(config, geometry)) {
    if (k.kind == "attn.qkv.weight") EXPECT_EQ(std::make_pair(k.p, k.q), std::make_pair(16L, 16L));
  }
}

}  // namespace
}  // namespace wave
