#include "server/fit_pool.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;
using Clock = std::chrono::steady_clock;

TEST(FitPoolTest, AWaitingJobIsRefusedWhenItsTimeIsUpWhileTheSlotStaysBusy) {
  FitPool pool(1, 2, 0.2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> holder_started{false};
  ASSERT_OK(pool.Submit([released, &holder_started](const absl::Status& admitted) {
    EXPECT_OK(admitted);
    holder_started = true;
    released.wait();  // holds the only slot, as a slow fit would
  }));
  while (!holder_started) std::this_thread::yield();

  std::promise<absl::Status> waited;
  const auto start = Clock::now();
  ASSERT_OK(pool.Submit([&](const absl::Status& admitted) { waited.set_value(admitted); }));
  auto result = waited.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the queued job waited on the slot holder";
  EXPECT_STATUS(result.get(), StatusCode::kResourceExhausted, "waited too long for a fit slot");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 2.0);
  EXPECT_EQ(pool.running(), 1);
  EXPECT_EQ(pool.waiting(), 0);
  release.set_value();
}

TEST(FitPoolTest, AFullQueueIsRefusedAtOnce) {
  FitPool pool(1, 1, 30);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  ASSERT_OK(pool.Submit([released, &started](const absl::Status&) {
    started = true;
    released.wait();
  }));
  while (!started) std::this_thread::yield();
  ASSERT_OK(pool.Submit([](const absl::Status&) {}));
  EXPECT_STATUS(pool.Submit([](const absl::Status&) {}), StatusCode::kResourceExhausted,
                "all 1 fit slots are busy and 1 fits are waiting");
  release.set_value();
}

TEST(FitPoolTest, StoppingRejectsWaitingJobsAndFinishesRunningOnes) {
  std::atomic<bool> ran{false};
  absl::Status rejected;
  {
    FitPool pool(1, 1, 30);
    std::atomic<bool> started{false};
    ASSERT_OK(pool.Submit([&](const absl::Status&) {
      started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ran = true;
    }));
    while (!started) std::this_thread::yield();
    ASSERT_OK(pool.Submit([&](const absl::Status& s) { rejected = s; }));
  }
  EXPECT_TRUE(ran);
  EXPECT_STATUS(rejected, StatusCode::kUnavailable, "shutting down");
}

}  // namespace
}  // namespace wave
