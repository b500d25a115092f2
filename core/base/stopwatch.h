// Elapsed wall time on the steady clock: the seconds the service, the tools
// and the evaluation report (fit, compose, epochs), measured one way.
//
// Not thread-safe: one owner reads and restarts it.
#ifndef WAVE_CORE_BASE_STOPWATCH_H_
#define WAVE_CORE_BASE_STOPWATCH_H_

#include <chrono>

namespace wave {

class Stopwatch {
 public:
  Stopwatch() : started_(std::chrono::steady_clock::now()) {}

  // Seconds since construction or the last Restart(); never negative.
  double Seconds() const;
  // Starts again from now; returns the seconds measured until now.
  double Restart();

 private:
  std::chrono::steady_clock::time_point started_;
};

}  // namespace wave

#endif  // WAVE_CORE_BASE_STOPWATCH_H_
