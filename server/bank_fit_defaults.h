// A bank's own fit defaults: the recipe measured best on validation for that
// bank, carried in its provenance so that it travels with the file.
#ifndef WAVE_SERVER_BANK_FIT_DEFAULTS_H_
#define WAVE_SERVER_BANK_FIT_DEFAULTS_H_

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"
#include "wave/v1/wave.pb.h"

namespace wave {

// The provenance keys, each a wave.v1.FitOptions in proto3 JSON, for example
// {"steps": "0", "headSteps": "300", "scalerInit": "select"}. The first holds
// for every request; the second is merged over it for a request on other
// classes than the bank's, where the bank's head cannot serve: a recipe
// measured on the bank's own classes (no scaler steps, say) need not carry
// to classes the templates never saw (research/results/transfer-multi24).
inline constexpr char kFitDefaultsKey[] = "fit_defaults";
inline constexpr char kFitDefaultsOtherClassesKey[] = "fit_defaults_other_classes";

// The scheme names the API takes: scaler_init "structured", "select" or
// "naive" (empty: structured); auxiliary "nearest" or "narrower" (empty:
// nearest; "blend" stays an evaluation flag, measured far worse,
// research/results/multi-aux). INVALID_ARGUMENT names the field.
absl::Status CheckFitSchemes(const v1::FitOptions& f);

// Whether a request's class names (index i for label i) name other classes
// than the bank's: some name differs from the bank's at its index
// (BankClassNames: its provenance's names, else "0", "1", ...). No names
// say nothing.
bool NamesOtherClasses(const TemplateBank& bank,
                       const google::protobuf::RepeatedPtrField<std::string>& names);

// The request's fit options with what its class names say: names of other
// classes turn the bank's head off where the request leaves head_from_bank
// unset, so that its fit, its defaults and its training recipe are those
// for other classes. A request that sets head_from_bank keeps it.
v1::FitOptions WithClassNames(const TemplateBank& bank, const v1::InitializeHeader& header);

// Whether a request is on the bank's own classes: as many classes as every
// auxiliary has, and the request does not turn the bank's head off
// (head_from_bank false, set or implied by its class names, says the
// classes are others).
bool OnBankClasses(const TemplateBank& bank, int64_t classes, const v1::FitOptions& request);
// The same for a fit already resolved: its head_from_bank says whether the
// request turned the bank's head off.
bool OnBankClasses(const TemplateBank& bank, int64_t classes, bool head_from_bank);

// The bank's defaults for a request on its own classes or on others (empty
// options when it has none). A field a request leaves unset takes the bank's
// value, then the server's. INVALID_ARGUMENT, naming the bank and the key,
// when they do not parse or name an unknown scheme or a negative count.
absl::StatusOr<v1::FitOptions> BankFitDefaults(const TemplateBank& bank, bool on_bank_classes);

// Both keys checked, for the registry: a bank with a bad default never serves.
absl::Status CheckBankFitDefaults(const TemplateBank& bank);

}  // namespace wave

#endif  // WAVE_SERVER_BANK_FIT_DEFAULTS_H_
