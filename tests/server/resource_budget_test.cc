#include "server/resource_budget.h"

#include <vector>

#include "server/refusal.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

BudgetSpec Spec(int64_t limit, double client_share = 1) {
  return {"upload memory", "bytes", limit, "--upload_budget_bytes", "send fewer samples",
          client_share};
}

TEST(ResourceBudgetTest, TakesUpToTheLimitAndRefusesPastIt) {
  std::vector<int64_t> seen;
  ResourceBudget budget(Spec(100), [&](int64_t v) { seen.push_back(v); });
  auto a = budget.Take(60, "a");
  ASSERT_OK(a);
  auto b = budget.Take(40, "a");
  ASSERT_OK(b);
  EXPECT_EQ(budget.in_use(), 100);
  auto refused = budget.Take(1, "b");
  EXPECT_STATUS(refused, StatusCode::kResourceExhausted,
                "server busy: upload memory: this call needs 1 bytes but only 0 of the server's 100 "
                "are free; retry later");
  EXPECT_EQ(RefusalReason(refused.status()), kRefusalBusy);
  a->Release();
  EXPECT_EQ(budget.in_use(), 40);
  a->Release();  // twice is once
  EXPECT_EQ(budget.in_use(), 40);
  EXPECT_OK(budget.Take(60, "a"));  // a temporary lease gives back at once
  EXPECT_EQ(budget.in_use(), 40);
  EXPECT_EQ(seen, (std::vector<int64_t>{60, 100, 40, 100, 40}));
}

TEST(ResourceBudgetTest, LeasesGiveBackWhenMovedOrDestroyed) {
  ResourceBudget budget(Spec(2));
  {
    ResourceBudget::Lease held;
    {
      auto lease = budget.Take(2, "a");
      ASSERT_OK(lease);
      held = std::move(*lease);
    }
    EXPECT_EQ(budget.in_use(), 2);
    ResourceBudget::Lease moved(std::move(held));
    EXPECT_EQ(held.amount(), 0);
    EXPECT_EQ(moved.amount(), 2);
    EXPECT_EQ(budget.in_use(), 2);
    EXPECT_EQ(budget.held_by("a"), 2);
  }
  EXPECT_EQ(budget.in_use(), 0);
  EXPECT_EQ(budget.held_by("a"), 0);
}

TEST(ResourceBudgetTest, AnAmountOverTheWholeBudgetIsALimitNotABusyServer) {
  ResourceBudget budget(Spec(1 << 20));
  auto refused = budget.Take(INT64_MAX, "a");
  EXPECT_STATUS(refused, StatusCode::kFailedPrecondition,
                "upload memory: 9223372036854775807 exceeds the server's limit of 1048576 "
                "(--upload_budget_bytes); send fewer samples");
  EXPECT_EQ(RefusalReason(refused.status()), kRefusalLimit);
  EXPECT_STATUS(budget.Take(-5, "a"), StatusCode::kInternal, "a negative amount (-5)");
  EXPECT_EQ(budget.in_use(), 0);
}

TEST(ResourceBudgetTest, OneClientHoldsAtMostItsShareWhileOthersStillGetIn) {
  ResourceBudget budget(Spec(64, 0.25));
  EXPECT_EQ(budget.per_client_limit(), 16);
  std::vector<ResourceBudget::Lease> hostile;
  for (int i = 0; i < 16; ++i) {
    auto lease = budget.Take(1, "ipv4:10.0.0.9");
    ASSERT_OK(lease);
    hostile.push_back(std::move(*lease));
  }
  auto refused = budget.Take(1, "ipv4:10.0.0.9");
  EXPECT_STATUS(refused, StatusCode::kResourceExhausted,
                "upload memory: this client (ipv4:10.0.0.9) holds 16 bytes and may hold at most "
                "16 of the server's 64 (--max_client_share); this call needs 1 more; retry when "
                "this client's other calls end");
  EXPECT_EQ(RefusalReason(refused.status()), kRefusalClientShare);
  EXPECT_OK(budget.Take(16, "ipv6:[::1]"));  // another client is served
  hostile.pop_back();
  EXPECT_OK(budget.Take(1, "ipv4:10.0.0.9"));  // one given back, one taken again
}

TEST(ResourceBudgetTest, AClientHoldingNothingMayTakeOneCallLargerThanItsShare) {
  ResourceBudget budget(Spec(100, 0.25));
  auto big = budget.Take(60, "a");
  ASSERT_OK(big);
  EXPECT_STATUS(budget.Take(1, "a"), StatusCode::kResourceExhausted, "may hold at most 25");
  EXPECT_OK(budget.Take(25, "b"));
}

TEST(ResourceBudgetTest, TheShareIsAtLeastOneUnit) {
  ResourceBudget budget(Spec(3, 0.01));
  EXPECT_EQ(budget.per_client_limit(), 1);
  auto first = budget.Take(1, "a");
  ASSERT_OK(first);
  EXPECT_STATUS(budget.Take(1, "a"), StatusCode::kResourceExhausted, "may hold at most 1");
}

}  // namespace
}  // namespace wave
