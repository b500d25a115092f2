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

std::map<std::string, std::vector<int64_t>> TimmShapes(const ViTConfig& c) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& [name, shape] : ParamShapes(c)) shapes[name] = shape;
  return shapes;
}

TEST(TimmShapesTest, EverySizeAndGeometryIsReadFromTheTensors) {
  ViTConfig c;
  c.depth = 3;
  c.width = 96;
  c.heads = 3;
  c.patch = 4;
  c.channels = 3;
  c.image_size = 32;
  c.classes = 7;
  c.mlp_ratio = 4;
  auto found = ConfigFromTimmShapes(TimmShapes(c), 3);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, c);
  EXPECT_NE(ConfigFromTimmShapes(TimmShapes(c), 0).status().message().find("--ancestry_heads"),
            std::string::npos);
}

TEST(TimmShapesTest, WhatIsNotAStandardViTIsRefusedNamingTheTensor) {
  ViTConfig c;  // 6x128, 1x28x28, patch 7
  auto refused = [&](auto edit) {
    auto shapes = TimmShapes(c);
    edit(shapes);
    return std::string(ConfigFromTimmShapes(shapes, 4).status().message());
  };
  EXPECT_NE(refused([](auto& s) { s["dist_token"] = {1, 1, 128}; })
                .find("tensor 'dist_token': a distillation token"),
            std::string::npos);
  EXPECT_NE(refused([](auto& s) { s.erase("cls_token"); }).find("tensor 'cls_token': missing"),
            std::string::npos);
  EXPECT_NE(refused([](auto& s) { s["pos_embed"] = {1, 16, 128}; })
                .find("tensor 'pos_embed': has 16 positions"),
            std::string::npos);
  EXPECT_NE(refused([](auto& s) { s["blocks.0.ls1.gamma"] = {128}; }).find("layer scale"),
            std::string::npos);
  EXPECT_NE(refused([](auto& s) { s["fc_norm.weight"] = {128}; }).find("fc_norm"),
            std::string::npos);
  EXPECT_NE(refused([](auto& s) { s.erase("blocks.2.attn.qkv.bias"); })
                .find("tensor 'blocks.2.attn.qkv.bias': missing"),
            std::string::npos);
}

}  // namespace
}  // namespace wave
