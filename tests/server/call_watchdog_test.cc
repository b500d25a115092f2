#include "server/call_watchdog.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace wave {
namespace {

using std::chrono::milliseconds;

class FakeCall : public CallWatchdog::Watched {
 public:
  explicit FakeCall(int64_t expires_at) : expires_at_(expires_at) {}
  int64_t ExpiresAt() const override { return expires_at_; }
  void Expire() override {
    ++expired_;
    expires_at_ = CallWatchdog::kNever;  // as a real call does once it ends
  }
  std::atomic<int64_t> expires_at_;
  std::atomic<int> expired_{0};
};

TEST(CallWatchdogTest, ExpiresOnlyCallsPastTheirTime) {
  CallWatchdog watchdog(milliseconds(10));
  FakeCall soon(CallWatchdog::After(0.05)), later(CallWatchdog::After(30)),
      never(CallWatchdog::kNever);
  watchdog.Watch(&soon);
  watchdog.Watch(&later);
  watchdog.Watch(&never);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(soon.expired_, 1);
  EXPECT_EQ(later.expired_, 0);
  EXPECT_EQ(never.expired_, 0);
  EXPECT_EQ(watchdog.watched(), 3u);
  watchdog.Unwatch(&soon);
  watchdog.Unwatch(&later);
  watchdog.Unwatch(&never);
  EXPECT_EQ(watchdog.watched(), 0u);
}

TEST(CallWatchdogTest, ACallThatLeftIsNeverExpired) {
  CallWatchdog watchdog(milliseconds(10));
  FakeCall call(CallWatchdog::After(0.05));
  watchdog.Watch(&call);
  watchdog.Unwatch(&call);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(call.expired_, 0);
}

TEST(CallWatchdogTest, AMovedDeadlineIsHonoured) {
  CallWatchdog watchdog(milliseconds(10));
  FakeCall call(CallWatchdog::After(0.05));
  watchdog.Watch(&call);
  call.expires_at_ = CallWatchdog::After(30);  // the client sent a message in time
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(call.expired_, 0);
  call.expires_at_ = CallWatchdog::Now();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(call.expired_, 1);
  watchdog.Unwatch(&call);
}

TEST(CallWatchdogTest, AfterSaturates) {
  EXPECT_EQ(CallWatchdog::After(1e300), CallWatchdog::kNever);
  EXPECT_GT(CallWatchdog::After(1), CallWatchdog::Now());
}

}  // namespace
}  // namespace wave
