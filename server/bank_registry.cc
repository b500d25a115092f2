#include "server/bank_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "server/bank_fit_defaults.h"
#include "server/training_recipe.h"

namespace wave {

absl::Status BankRegistry::LoadAll(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("no bank given");
  for (const auto& path : paths) RETURN_IF_ERROR(Load(path));
  return absl::OkStatus();
}

absl::Status BankRegistry::ReloadAll(const std::vector<std::string>& paths) {
  std::vector<std::string> failures;
  for (const auto& path : paths) {
    if (absl::Status s = Load(path); !s.ok()) failures.push_back(s.ToString());
  }
  if (failures.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("reload kept the previous bank(s): ", absl::StrJoin(failures, "; ")));
}

absl::Status BankRegistry::Load(const std::string& path) {
  ASSIGN_OR_RETURN(TemplateBank bank, LoadBank(path));
  RETURN_IF_ERROR(CheckBankFitDefaults(bank));  // a bad default would fail every call
  RETURN_IF_ERROR(CheckTrainingRecipes(bank));
  auto shared = std::make_shared<const TemplateBank>(std::move(bank));
  absl::MutexLock lock(&mu_);
  if (default_.empty()) default_ = shared->name;
  banks_[shared->name] = shared;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const TemplateBank>> BankRegistry::Get(
    const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = banks_.find(name.empty() ? default_ : name);
  if (it == banks_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, b] : banks_) names.push_back(n);
    // The client's string is echoed only in part, so logs stay bounded.
    return absl::NotFoundError(absl::StrCat("bank: no bank named '", name.substr(0, 64),
                                            "' (loaded: ", absl::StrJoin(names, ", "), ")"));
  }
  return it->second;
}

std::vector<std::shared_ptr<const TemplateBank>> BankRegistry::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const TemplateBank>> out;
  for (const auto& [n, b] : banks_) out.push_back(b);
  return out;
}

std::string BankRegistry::default_name() const {
  absl::MutexLock lock(&mu_);
  return default_;
}

}  // namespace wave
