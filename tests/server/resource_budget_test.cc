#include "server/resource_budget.h"

#include <vector>

#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

TEST(ResourceBudgetTest, TakesUpToTheLimitAndRefusesPastIt) {
  std::vector<int64_t> seen;
  ResourceBudget budget("upload memory", "bytes", 100, [&](int64_t v) { seen.push_back(v); });
  auto a = budget.Take(60);
  ASSERT_OK(a);
  auto b = budget.Take(40);
  ASSERT_OK(b);
  EXPECT_EQ(budget.in_use(), 100);
  EXPECT_STATUS(budget.Take(1), StatusCode::kResourceExhausted,
                "server busy: upload memory needs 1 bytes but only 0 of its 100 are free");
  a->Release();
  EXPECT_EQ(budget.in_use(), 40);
  a->Release();  // twice is once
  EXPECT_EQ(budget.in_use(), 40);
  EXPECT_OK(budget.Take(60));  // a temporary lease gives back at once
  EXPECT_EQ(budget.in_use(), 40);
  EXPECT_EQ(seen, (std::vector<int64_t>{60, 100, 40, 100, 40}));
}

TEST(ResourceBudgetTest, LeasesGiveBackWhenMovedOrDestroyed) {
  ResourceBudget budget("calls", "calls", 2);
  {
    ResourceBudget::Lease held;
    {
      auto lease = budget.Take(2);
      ASSERT_OK(lease);
      held = std::move(*lease);
    }
    EXPECT_EQ(budget.in_use(), 2);
    ResourceBudget::Lease moved(std::move(held));
    EXPECT_EQ(held.amount(), 0);
    EXPECT_EQ(moved.amount(), 2);
    EXPECT_EQ(budget.in_use(), 2);
  }
  EXPECT_EQ(budget.in_use(), 0);
}

TEST(ResourceBudgetTest, RefusesNegativeAndAbsurdAmounts) {
  ResourceBudget budget("download memory", "bytes", 1 << 20);
  EXPECT_STATUS(budget.Take(-5), StatusCode::kResourceExhausted, "needs -5 bytes");
  EXPECT_STATUS(budget.Take(INT64_MAX), StatusCode::kResourceExhausted, "download memory");
  EXPECT_EQ(budget.in_use(), 0);
}

}  // namespace
}  // namespace wave
