// A fixed pool of fit workers: fits never run on gRPC's reactor threads, at
// most `slots` run at once, at most `max_queued` wait, and none waits longer
// than the queue timeout: a timer thread refuses a waiting job when its time
// is up, whatever the running ones do.
//
// Thread-safe: Submit, running() and waiting() from any thread; jobs run on
// the pool's workers (or, refused, on its timer thread), never under its lock.
#ifndef WAVE_SERVER_FIT_POOL_H_
#define WAVE_SERVER_FIT_POOL_H_

#include <chrono>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace wave {

class FitPool {
 public:
  // A job gets OK when it runs on a worker, or busy (on the
  // timer thread) when it waited past the timeout, or UNAVAILABLE when the
  // pool stops first; with an error it must only report it, quickly.
  using Job = std::function<void(const absl::Status& admitted)>;
  // Told every change of (running, waiting), in order: it is called under the
  // pool's lock, so the last value it saw is the pool's state (for gauges).
  using Observer = std::function<void(int running, int waiting)>;

  FitPool(int slots, int max_queued, double queue_timeout_s, Observer on_change = nullptr);
  ~FitPool();  // finishes running jobs, rejects queued ones

  // A busy refusal (server/refusal.h) at once when every slot is busy and the
  // queue is full.
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
  void NotifyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  const int slots_, max_queued_;
  const std::chrono::duration<double> timeout_;
  const Observer on_change_;
  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace wave

#endif  // WAVE_SERVER_FIT_POOL_H_
