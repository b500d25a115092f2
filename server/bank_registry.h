// The template banks a server holds, by name.
//
// Thread-safe: every method may be called from any thread (gRPC's threads
// read, the SIGHUP handler's thread reloads); a bank handed out stays valid
// while its holder keeps the shared_ptr, whatever reloads meanwhile.
#ifndef WAVE_SERVER_BANK_REGISTRY_H_
#define WAVE_SERVER_BANK_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const TemplateBank>> banks_ ABSL_GUARDED_BY(mu_);
  std::string default_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wave

#endif  // WAVE_SERVER_BANK_REGISTRY_H_
