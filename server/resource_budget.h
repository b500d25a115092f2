// A server-wide amount (bytes held by uploads, calls uploading at once, ...)
// that calls take a share of and give back. Past the limit a call is refused
// at once instead of waiting: a hostile client must not be able to make good
// ones queue behind it.
#ifndef WAVE_SERVER_RESOURCE_BUDGET_H_
#define WAVE_SERVER_RESOURCE_BUDGET_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace wave {

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
    Lease(ResourceBudget* budget, int64_t amount) : budget_(budget), amount_(amount) {}
    ResourceBudget* budget_ = nullptr;
    int64_t amount_ = 0;
  };

  // `what` names the budget in refusals ("upload memory"), `unit` its unit
  // ("bytes", "calls"). `on_change` sees every new amount in use, in order
  // (it is called under the budget's lock), for gauges.
  ResourceBudget(std::string what, std::string unit, int64_t limit,
                 std::function<void(int64_t in_use)> on_change = nullptr);
  ResourceBudget(const ResourceBudget&) = delete;
  ResourceBudget& operator=(const ResourceBudget&) = delete;

  // RESOURCE_EXHAUSTED, saying how much is free, when `amount` does not fit.
  absl::StatusOr<Lease> Take(int64_t amount);

  int64_t in_use() const;
  int64_t limit() const { return limit_; }

 private:
  void GiveBack(int64_t amount);

  const std::string what_, unit_;
  const int64_t limit_;
  const std::function<void(int64_t)> on_change_;
  mutable std::mutex mu_;
  int64_t in_use_ = 0;
};

}  // namespace wave

#endif  // WAVE_SERVER_RESOURCE_BUDGET_H_
