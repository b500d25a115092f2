#include "server/resource_budget.h"

#include "absl/strings/str_cat.h"

namespace wave {

ResourceBudget::Lease& ResourceBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = other.budget_;
    amount_ = other.amount_;
    other.budget_ = nullptr;
    other.amount_ = 0;
  }
  return *this;
}

void ResourceBudget::Lease::Release() {
  if (budget_ != nullptr) budget_->GiveBack(amount_);
  budget_ = nullptr;
  amount_ = 0;
}

ResourceBudget::ResourceBudget(std::string what, std::string unit, int64_t limit,
                               std::function<void(int64_t)> on_change)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      limit_(limit),
      on_change_(std::move(on_change)) {}

absl::StatusOr<ResourceBudget::Lease> ResourceBudget::Take(int64_t amount) {
  std::lock_guard<std::mutex> lock(mu_);
  if (amount < 0 || amount > limit_ - in_use_) {
    return absl::ResourceExhaustedError(absl::StrCat("server busy: ", what_, " needs ", amount, " ",
                                                     unit_, " but only ", limit_ - in_use_,
                                                     " of its ", limit_, " are free; retry later"));
  }
  in_use_ += amount;
  if (on_change_) on_change_(in_use_);
  return Lease(this, amount);
}

void ResourceBudget::GiveBack(int64_t amount) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ -= amount;
  if (on_change_) on_change_(in_use_);
}

int64_t ResourceBudget::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

}  // namespace wave
