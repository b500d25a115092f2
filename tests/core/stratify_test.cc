#include "core/base/stratify.h"

#include "gtest/gtest.h"

namespace wave {
namespace {

TEST(StratifyTest, TakesRoundRobinInLabelOrderAndContinues) {
  const std::vector<int64_t> labels = {2, 0, 2, 1, 0, 2, 9};
  const std::vector<int64_t> order = {6, 5, 4, 3, 2, 1, 0};
  auto groups = GroupByLabel(order, [&](int64_t i) { return labels[i]; });
  ASSERT_EQ(groups.size(), 4u);  // labels 0, 1, 2, 9
  EXPECT_EQ(groups[0], (std::vector<int64_t>{4, 1}));
  EXPECT_EQ(groups[2], (std::vector<int64_t>{5, 2, 0}));
  EXPECT_EQ(TakeRoundRobin(groups, 5), (std::vector<int64_t>{4, 3, 5, 6, 1}));
  EXPECT_EQ(TakeRoundRobin(groups, 10), (std::vector<int64_t>{2, 0}));
  EXPECT_TRUE(TakeRoundRobin(groups, 3).empty());
}

}  // namespace
}  // namespace wave
