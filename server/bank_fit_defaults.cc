#include "server/bank_fit_defaults.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/bank/scaler_init.h"
#include "core/model/precision.h"

namespace wave {
namespace {

// The options under one provenance key; none when the key is absent.
absl::Status MergeKey(const TemplateBank& bank, const char* key, v1::FitOptions& into) {
  auto it = bank.provenance.find(key);
  if (it == bank.provenance.end()) return absl::OkStatus();
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bank '", bank.name, "': provenance ", key, ": ", why));
  };
  v1::FitOptions options;
  auto parsed = google::protobuf::util::JsonStringToMessage(it->second, &options);
  if (!parsed.ok()) {
    return invalid(absl::string_view(parsed.message().data(), parsed.message().size()));
  }
  // The checks a request's own options get that do not depend on the request.
  if (absl::Status schemes = CheckFitSchemes(options); !schemes.ok()) {
    return invalid(schemes.message());
  }
  for (const auto& [field, value] : {std::pair<const char*, int64_t>{"steps", options.steps()},
                                     {"head_steps", options.head_steps()},
                                     {"eval_every", options.eval_every()},
                                     {"patience", options.patience()}}) {
    if (value < 0) return invalid(absl::StrCat(field, " must be >= 0, got ", value));
  }
  into.MergeFrom(options);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFitSchemes(const v1::FitOptions& f) {
  if (!ParseScalerInit(f.scaler_init()).ok()) {
    return absl::InvalidArgumentError("fit.scaler_init: must be 'structured', 'select' or 'naive'");
  }
  if (f.auxiliary() != "" && f.auxiliary() != "nearest" && f.auxiliary() != "narrower") {
    return absl::InvalidArgumentError("fit.auxiliary: must be 'nearest' or 'narrower'");
  }
  if (!f.precision().empty() && !ParsePrecision(f.precision()).ok()) {
    return absl::InvalidArgumentError("fit.precision: must be 'f32' or 'bf16' (or unset)");
  }
  return absl::OkStatus();
}

bool NamesOtherClasses(const TemplateBank& bank,
                       const google::protobuf::RepeatedPtrField<std::string>& names) {
  const std::vector<std::string> own = BankClassNames(bank);
  for (int i = 0; i < names.size(); ++i) {
    if (static_cast<size_t>(i) >= own.size() || names[i] != own[i]) return true;
  }
  return false;
}

v1::FitOptions WithClassNames(const TemplateBank& bank, const v1::InitializeHeader& header) {
  v1::FitOptions fit = header.fit();
  if (!fit.has_head_from_bank() && NamesOtherClasses(bank, header.class_names())) {
    fit.set_head_from_bank(false);
  }
  return fit;
}

bool OnBankClasses(const TemplateBank& bank, int64_t classes, const v1::FitOptions& request) {
  return OnBankClasses(bank, classes, !request.has_head_from_bank() || request.head_from_bank());
}

bool OnBankClasses(const TemplateBank& bank, int64_t classes, bool head_from_bank) {
  if (!head_from_bank || bank.auxiliaries.empty()) return false;
  for (const AuxiliaryModel& aux : bank.auxiliaries) {
    if (aux.config.classes != classes) return false;
  }
  return true;
}

absl::StatusOr<v1::FitOptions> BankFitDefaults(const TemplateBank& bank, bool on_bank_classes) {
  v1::FitOptions defaults;
  RETURN_IF_ERROR(MergeKey(bank, kFitDefaultsKey, defaults));
  if (!on_bank_classes) RETURN_IF_ERROR(MergeKey(bank, kFitDefaultsOtherClassesKey, defaults));
  return defaults;
}

absl::Status CheckBankFitDefaults(const TemplateBank& bank) {
  return BankFitDefaults(bank, /*on_bank_classes=*/false).status();
}

}  // namespace wave
