// Data sets: stratified subsets and held-out splits, normalization.
#include "core/model/dataset.h"

#include <set>

#include "tests/status_matchers.h"

namespace wave {
namespace {

Dataset Labelled(int64_t per_class, int64_t classes) {
  const int64_t n = per_class * classes;
  Dataset d{at::arange(n, at::kLong).remainder(256).to(at::kByte).view({n, 1, 1, 1}),
            at::arange(n, at::kLong).remainder(classes)};
  return d;
}

TEST(DatasetTest, AStratifiedSubsetTakesEveryClassAlike) {
  Dataset d = Labelled(50, 10);
  Dataset subset = StratifiedSubset(d, 40, 10, 3);
  ASSERT_EQ(subset.size(), 40);
  at::Tensor counts = at::bincount(subset.labels, {}, 10);
  EXPECT_TRUE(counts.eq(4).all().item<bool>()) << counts;
  Dataset again = StratifiedSubset(d, 40, 10, 3);
  EXPECT_TRUE(again.images.equal(subset.images)) << "seeded";
}

TEST(DatasetTest, AHeldOutSplitIsStratifiedAndDisjoint) {
  Dataset d = Labelled(10, 5);
  d.images = at::arange(50, at::kLong).to(at::kByte).view({50, 1, 1, 1});  // unique ids
  auto [fit, held] = SplitHeldOut(d, 10, 5, 7);
  EXPECT_EQ(fit.size(), 40);
  EXPECT_EQ(held.size(), 10);
  EXPECT_TRUE(at::bincount(held.labels, {}, 5).eq(2).all().item<bool>());
  std::set<int> ids;
  for (int64_t i = 0; i < 40; ++i) ids.insert(fit.images[i].item<int>());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(ids.count(held.images[i].item<int>()), 0u);
}

TEST(DatasetTest, HeldOutIndicesNameTheHeldOutSamplesInOrder) {
  Dataset d = Labelled(10, 5);
  d.images = at::arange(50, at::kLong).to(at::kByte).view({50, 1, 1, 1});  // unique ids
  auto [fit, held] = SplitHeldOut(d, 10, 5, 7);
  const std::vector<int64_t> indices = HeldOutIndices(d, 10, 5, 7);
  ASSERT_EQ(indices.size(), 10u);
  for (size_t i = 0; i < indices.size(); ++i) {
    EXPECT_EQ(held.images[i].item<int>(), indices[i]);  // image i holds its own position
  }
}

TEST(DatasetTest, Uint8IsScaledThenNormalizedAndFloatPassesThrough) {
  at::Tensor bytes = at::full({1, 1, 1, 2}, 255, at::kByte);
  bytes[0][0][0][1] = 0;
  at::Tensor x = Normalize(bytes, {0.5}, {0.25});
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(x[0][0][0][1].item<float>(), -2.0f);
  at::Tensor f = at::full({1, 1, 1, 1}, 3.5f);
  EXPECT_TRUE(Normalize(f, {0.5}, {0.25}).equal(f));
}

TEST(DatasetTest, EachChannelHasItsOwnMeanAndStd) {
  at::Tensor rgb = at::full({1, 3, 1, 1}, 255, at::kByte);
  at::Tensor x = Normalize(rgb, {0.5, 0.0, 1.0}, {0.5, 1.0, 0.25});
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x[0][1][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x[0][2][0][0].item<float>(), 0.0f);
}

TEST(DatasetTest, ChannelStatsAreThoseOfThePixelsInUnitRange) {
  Dataset d;
  d.images = at::zeros({2, 2, 1, 1}, at::kByte);
  d.images[0][0][0][0] = 255;  // channel 0: {1, 0}; channel 1: constant 0
  d.labels = at::zeros({2}, at::kLong);
  std::vector<double> mean, std;
  ChannelStatsOf(d, &mean, &std);
  EXPECT_DOUBLE_EQ(mean[0], 0.5);
  EXPECT_DOUBLE_EQ(std[0], 0.5);
  EXPECT_DOUBLE_EQ(mean[1], 0.0);
  EXPECT_DOUBLE_EQ(std[1], 1.0);  // a constant channel is left unscaled
}

TEST(DatasetTest, SelectingClassesKeepsTheirSamplesAndRelabelsThemInOrder) {
  Dataset d = Labelled(3, 10);  // labels 0..9, three each
  auto picked = SelectClasses(d, {7, 2});
  ASSERT_TRUE(picked.ok()) << picked.status();
  ASSERT_EQ(picked->size(), 6);
  for (int64_t i = 0; i < picked->size(); ++i) {
    const int64_t original = picked->images[i].item<int64_t>() % 10;  // images hold the index
    EXPECT_EQ(picked->labels[i].item<int64_t>(), original == 7 ? 0 : 1);
  }
  EXPECT_FALSE(SelectClasses(d, {}).ok());
  EXPECT_FALSE(SelectClasses(d, {3, 3}).ok());
}

}  // namespace
}  // namespace wave
