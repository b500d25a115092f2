// Ends calls that overstay: a call in flight says, at any moment, until when
// it may go on (a client must send its next upload message, or take the next
// chunk of its download, within a bound); one thread checks every call a few
// times a second and expires those past their time. gRPC has no per-message
// timeouts of its own, and a slow client must never hold memory or a fit
// slot for longer than the server's bounds.
//
// Thread-safe: Watch, Unwatch and watched() from any thread; Expire() runs on
// the watchdog's own thread under its lock.
#ifndef WAVE_SERVER_CALL_WATCHDOG_H_
#define WAVE_SERVER_CALL_WATCHDOG_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace wave {

class CallWatchdog {
 public:
  class Watched {
   public:
    virtual ~Watched() = default;
    // Steady-clock nanoseconds; kNever when no bound applies now.
    virtual int64_t ExpiresAt() const = 0;
    // Called once per expiry, on the watchdog's thread, under its lock: the
    // call cannot leave (Unwatch) meanwhile. Must not call Watch/Unwatch.
    virtual void Expire() = 0;
  };
  static constexpr int64_t kNever = INT64_MAX;
  static int64_t Now();
  static int64_t After(double seconds);  // Now() + seconds, saturating
  static double SecondsSince(int64_t steady_nanos);  // from an earlier Now()

  explicit CallWatchdog(std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  ~CallWatchdog();  // stops the thread; every call must have left

  void Watch(Watched* call);
  // Returns once no Expire() of `call` is running; afterwards none starts.
  void Unwatch(Watched* call);
  size_t watched() const;

 private:
  void Run();

  const std::chrono::milliseconds tick_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_set<Watched*> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace wave

#endif  // WAVE_SERVER_CALL_WATCHDOG_H_
