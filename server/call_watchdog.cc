#include "server/call_watchdog.h"

#include <cmath>

namespace wave {

int64_t CallWatchdog::Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CallWatchdog::SecondsSince(int64_t steady_nanos) { return (Now() - steady_nanos) * 1e-9; }

int64_t CallWatchdog::After(double seconds) {
  const double nanos = seconds * 1e9;
  const int64_t now = Now();
  if (!(nanos < static_cast<double>(kNever - now))) return kNever;
  return now + static_cast<int64_t>(nanos);
}

CallWatchdog::CallWatchdog(std::chrono::milliseconds tick)
    : tick_(tick), thread_([this] { Run(); }) {}

CallWatchdog::~CallWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // wakes Run's Await
  }
  thread_.join();
}

void CallWatchdog::Watch(Watched* call) {
  absl::MutexLock lock(&mu_);
  calls_.insert(call);
}

void CallWatchdog::Unwatch(Watched* call) {
  // Expire() runs under mu_, so taking it waits out a running one.
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
}

size_t CallWatchdog::watched() const {
  absl::MutexLock lock(&mu_);
  return calls_.size();
}

void CallWatchdog::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(tick_));
    const int64_t now = Now();
    for (Watched* call : calls_) {
      if (call->ExpiresAt() <= now) call->Expire();
    }
  }
}

}  // namespace wave
