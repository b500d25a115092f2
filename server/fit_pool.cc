#include "server/fit_pool.h"

#include "absl/strings/str_cat.h"
#include "server/refusal.h"

namespace wave {

FitPool::FitPool(int slots, int max_queued, double queue_timeout_s, Observer on_change)
    : slots_(slots < 1 ? 1 : slots),
      max_queued_(max_queued < 0 ? 0 : max_queued),
      timeout_(queue_timeout_s),
      on_change_(std::move(on_change)) {
  for (int i = 0; i < slots_; ++i) workers_.emplace_back([this] { Work(); });
  timer_ = std::thread([this] { ExpireLate(); });
}

FitPool::~FitPool() {
  std::deque<Pending> rejected;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // wakes the workers and the timer
    rejected.swap(queue_);
    NotifyLocked();
  }
  for (auto& p : rejected) p.job(absl::UnavailableError("server is shutting down"));
  for (auto& t : workers_) t.join();
  timer_.join();
}

absl::Status FitPool::Submit(Job job) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (running_ + static_cast<int>(queue_.size()) >= slots_ + max_queued_) {
    return BusyRefusal(absl::StrCat("all ", slots_, " fit slots are busy and ", queue_.size(),
                                    " fits are waiting"));
  }
  queue_.push_back({std::move(job), std::chrono::steady_clock::now()});
  NotifyLocked();  // unlocking wakes a worker, and the timer for the new deadline
  return absl::OkStatus();
}

void FitPool::Work() {
  while (true) {
    Pending p;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &FitPool::HasWorkOrStopping));
      if (queue_.empty()) return;  // stopping
      p = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      NotifyLocked();
    }
    const bool late = std::chrono::steady_clock::now() - p.enqueued > timeout_;
    p.job(late ? BusyRefusal("waited too long for a fit slot")
               : absl::OkStatus());
    absl::MutexLock lock(&mu_);
    --running_;
    NotifyLocked();
  }
}

void FitPool::ExpireLate() {
  mu_.Lock();
  while (!stopping_) {
    if (queue_.empty()) {
      mu_.Await(absl::Condition(this, &FitPool::HasWorkOrStopping));
      continue;
    }
    // The queue is in arrival order, so its front is the first to expire.
    const auto due = queue_.front().enqueued +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout_);
    const auto now = std::chrono::steady_clock::now();
    if (now < due) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(due - now));
      continue;
    }
    Pending late = std::move(queue_.front());
    queue_.pop_front();
    NotifyLocked();
    mu_.Unlock();
    late.job(BusyRefusal("waited too long for a fit slot"));
    mu_.Lock();
  }
  mu_.Unlock();
}

void FitPool::NotifyLocked() const {
  if (on_change_) on_change_(running_, static_cast<int>(queue_.size()));
}

int FitPool::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

int FitPool::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

}  // namespace wave
