#include "server/resource_budget.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/refusal.h"

namespace wave {

ResourceBudget::Lease& ResourceBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = other.budget_;
    client_ = std::move(other.client_);
    amount_ = other.amount_;
    other.budget_ = nullptr;
    other.amount_ = 0;
  }
  return *this;
}

void ResourceBudget::Lease::Release() {
  if (budget_ != nullptr) budget_->GiveBack(client_, amount_);
  budget_ = nullptr;
  amount_ = 0;
}

ResourceBudget::ResourceBudget(BudgetSpec spec, std::function<void(int64_t)> on_change)
    : spec_(std::move(spec)),
      per_client_limit_(std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(static_cast<double>(spec_.limit) *
                                            std::clamp(spec_.client_share, 0.0, 1.0))))),
      on_change_(std::move(on_change)) {}

absl::StatusOr<ResourceBudget::Lease> ResourceBudget::Take(int64_t amount,
                                                           const std::string& client) {
  if (amount < 0) {
    return absl::InternalError(absl::StrCat(spec_.what, ": a negative amount (", amount, ")"));
  }
  if (amount > spec_.limit) {
    return LimitRefusal(spec_.what, amount, spec_.limit, spec_.flag, spec_.remedy);
  }
  absl::MutexLock lock(&mu_);
  auto held = held_.find(client);
  const int64_t holds = held == held_.end() ? 0 : held->second;
  // A client holding nothing may take one call's amount, whatever its share;
  // a share as large as the budget binds nothing (the server is just busy).
  if (per_client_limit_ < spec_.limit && holds > 0 && holds + amount > per_client_limit_) {
    return ClientShareRefusal(absl::StrCat(
        spec_.what, ": this client (", client, ") holds ", holds, " ", spec_.unit,
        " and may hold at most ", per_client_limit_, " of the server's ", spec_.limit,
        " (--max_client_share); this call needs ", amount, " more"));
  }
  if (amount > spec_.limit - in_use_) {
    return BusyRefusal(absl::StrCat(spec_.what, ": this call needs ", amount, " ", spec_.unit,
                                    " but only ", spec_.limit - in_use_, " of the server's ",
                                    spec_.limit, " are free"));
  }
  in_use_ += amount;
  held_[client] = holds + amount;
  if (on_change_) on_change_(in_use_);
  return Lease(this, client, amount);
}

absl::Status ResourceBudget::TakeInto(int64_t amount, const std::string& client, Lease* lease) {
  absl::StatusOr<Lease> taken = Take(amount, client);
  if (!taken.ok()) return taken.status();
  *lease = std::move(*taken);
  return absl::OkStatus();
}

void ResourceBudget::GiveBack(const std::string& client, int64_t amount) {
  absl::MutexLock lock(&mu_);
  in_use_ -= amount;
  auto held = held_.find(client);
  if (held != held_.end() && (held->second -= amount) <= 0) held_.erase(held);
  if (on_change_) on_change_(in_use_);
}

int64_t ResourceBudget::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

int64_t ResourceBudget::held_by(const std::string& client) const {
  absl::MutexLock lock(&mu_);
  auto held = held_.find(client);
  return held == held_.end() ? 0 : held->second;
}

}  // namespace wave
