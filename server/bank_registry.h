// The template banks a server holds, by name.
#ifndef WAVE_SERVER_BANK_REGISTRY_H_
#define WAVE_SERVER_BANK_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"

namespace wave {

class BankRegistry {
 public:
  // Loads every bank; the first is the default. Any failure is returned and
  // nothing is kept.
  absl::Status LoadAll(const std::vector<std::string>& paths);
  // Loads (or reloads) one bank; on failure the previous one keeps serving.
  absl::Status Load(const std::string& path);
  // Reloads every file (a SIGHUP rollout); each failure leaves that bank's
  // previous version serving. Returns the failures joined, or OK.
  absl::Status ReloadAll(const std::vector<std::string>& paths);

  // NOT_FOUND names the bank and lists the loaded ones. Empty: the default.
  absl::StatusOr<std::shared_ptr<const TemplateBank>> Get(const std::string& name) const;
  std::vector<std::shared_ptr<const TemplateBank>> All() const;
  std::string default_name() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TemplateBank>> banks_;
  std::string default_;
};

}  // namespace wave

#endif  // WAVE_SERVER_BANK_REGISTRY_H_
