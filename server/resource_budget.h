// A server-wide amount (bytes held by uploads, calls uploading at once, ...)
// that calls take a share of and give back. Past the limit a call is refused
// at once instead of waiting: a hostile client must not be able to make good
// ones queue behind it. Each client (server/auth.h's ClientIdentity) may hold
// at most `client_share` of the limit, or a single call's amount when it
// holds nothing else, so that one client cannot take what the others need.
//
// Thread-safe: every method may be called from any thread.
#ifndef WAVE_SERVER_RESOURCE_BUDGET_H_
#define WAVE_SERVER_RESOURCE_BUDGET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace wave {

struct BudgetSpec {
  std::string what;  // names the budget in refusals: "upload memory"
  std::string unit;  // "bytes", "calls"
  int64_t limit = 0;
  std::string flag;    // the server flag that sets `limit`: "--upload_budget_bytes"
  std::string remedy;  // what a client can change to need less: "send fewer samples"
  // The most one client may hold, as a fraction of `limit` (at least 1 unit).
  double client_share = 1;
};

class ResourceBudget {
 public:
  // A share of the budget, given back when destroyed or Released.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { Release(); }
    void Release();
    int64_t amount() const { return amount_; }

   private:
    friend class ResourceBudget;
    Lease(ResourceBudget* budget, std::string client, int64_t amount)
        : budget_(budget), client_(std::move(client)), amount_(amount) {}
    ResourceBudget* budget_ = nullptr;
    std::string client_;
    int64_t amount_ = 0;
  };

  // `on_change` sees every new amount in use, in order (it is called under
  // the budget's lock), for gauges.
  explicit ResourceBudget(BudgetSpec spec,
                          std::function<void(int64_t in_use)> on_change = nullptr);
  ResourceBudget(const ResourceBudget&) = delete;
  ResourceBudget& operator=(const ResourceBudget&) = delete;

  // `amount` for `client`, or a refusal (server/refusal.h): limit when it
  // exceeds the whole budget, client_share when the client would hold more
  // than its share, busy when not enough is free now.
  absl::StatusOr<Lease> Take(int64_t amount, const std::string& client);
  // Take, the lease moved into `*lease` (which gives back what it held).
  absl::Status TakeInto(int64_t amount, const std::string& client, Lease* lease);

  int64_t in_use() const;
  int64_t held_by(const std::string& client) const;
  int64_t limit() const { return spec_.limit; }
  int64_t per_client_limit() const { return per_client_limit_; }

 private:
  void GiveBack(const std::string& client, int64_t amount);

  const BudgetSpec spec_;
  const int64_t per_client_limit_;
  const std::function<void(int64_t)> on_change_;
  mutable absl::Mutex mu_;
  int64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> held_ ABSL_GUARDED_BY(mu_);  // clients holding > 0
};

}  // namespace wave

#endif  // WAVE_SERVER_RESOURCE_BUDGET_H_
