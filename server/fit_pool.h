// A fixed pool of fit workers: fits never run on gRPC's reactor threads, at
// most `slots` run at once, at most `max_queued` wait, and none waits longer
// than the queue timeout: a timer thread refuses a waiting job when its time
// is up, whatever the running ones do.
#ifndef WAVE_SERVER_FIT_POOL_H_
#define WAVE_SERVER_FIT_POOL_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace wave {

class FitPool {
 public:
  // A job gets OK when it runs on a worker, or RESOURCE_EXHAUSTED (on the
  // timer thread) when it waited past the timeout, or UNAVAILABLE when the
  // pool stops first; with an error it must only report it, quickly.
  using Job = std::function<void(const absl::Status& admitted)>;
  // Told every change of (running, waiting), in order: it is called under the
  // pool's lock, so the last value it saw is the pool's state (for gauges).
  using Observer = std::function<void(int running, int waiting)>;

  FitPool(int slots, int max_queued, double queue_timeout_s, Observer on_change = nullptr);
  ~FitPool();  // finishes running jobs, rejects queued ones

  // RESOURCE_EXHAUSTED at once when every slot is busy and the queue is full.
  absl::Status Submit(Job job);

  int running() const;
  int waiting() const;

 private:
  struct Pending {
    Job job;
    std::chrono::steady_clock::time_point enqueued;
  };
  void Work();
  void ExpireLate();
  void NotifyLocked() const;

  const int slots_, max_queued_;
  const std::chrono::duration<double> timeout_;
  const Observer on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace wave

#endif  // WAVE_SERVER_FIT_POOL_H_
