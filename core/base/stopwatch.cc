#include "core/base/stopwatch.h"

namespace wave {

double Stopwatch::Seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

double Stopwatch::Restart() {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - started_).count();
  started_ = now;
  return seconds;
}

}  // namespace wave
