#include "server/bank_fit_defaults.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "core/bank/scaler_init.h"

namespace wave {
namespace {

absl::Status Invalid(const TemplateBank& bank, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bank '", bank.name, "': provenance ", kFitDefaultsKey, ": ", why));
}

}  // namespace

absl::Status CheckFitSchemes(const v1::FitOptions& f) {
  if (!ParseScalerInit(f.scaler_init()).ok()) {
    return absl::InvalidArgumentError("fit.scaler_init: must be 'structured', 'select' or 'naive'");
  }
  if (f.auxiliary() != "" && f.auxiliary() != "nearest" && f.auxiliary() != "narrower") {
    return absl::InvalidArgumentError("fit.auxiliary: must be 'nearest' or 'narrower'");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FitOptions> BankFitDefaults(const TemplateBank& bank) {
  v1::FitOptions defaults;
  auto it = bank.provenance.find(kFitDefaultsKey);
  if (it == bank.provenance.end()) return defaults;
  auto parsed = google::protobuf::util::JsonStringToMessage(it->second, &defaults);
  if (!parsed.ok()) {
    return Invalid(bank, absl::string_view(parsed.message().data(), parsed.message().size()));
  }
  // The checks a request's own options get that do not depend on the request.
  if (absl::Status schemes = CheckFitSchemes(defaults); !schemes.ok()) {
    return Invalid(bank, schemes.message());
  }
  for (const auto& [field, value] : {std::pair<const char*, int64_t>{"steps", defaults.steps()},
                                     {"head_steps", defaults.head_steps()},
                                     {"eval_every", defaults.eval_every()},
                                     {"patience", defaults.patience()}}) {
    if (value < 0) return Invalid(bank, absl::StrCat(field, " must be >= 0, got ", value));
  }
  return defaults;
}

}  // namespace wave
