#include "core/base/stopwatch.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace wave {
namespace {

// Lower bounds only: a sleep lasts at least what it asks for, however busy
// the machine is.
TEST(StopwatchTest, CountsAtLeastTheTimeThatPassed) {
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(watch.Seconds(), 0.02);
}

TEST(StopwatchTest, RestartReturnsTheLapAndStartsAgain) {
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double lap = watch.Restart();
  EXPECT_GE(lap, 0.2);
  EXPECT_LT(watch.Seconds(), lap) << "Restart() did not start the count again";
}

}  // namespace
}  // namespace wave
