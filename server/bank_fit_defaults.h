// A bank's own fit defaults: the recipe measured best on validation for that
// bank, carried in its provenance so that it travels with the file.
#ifndef WAVE_SERVER_BANK_FIT_DEFAULTS_H_
#define WAVE_SERVER_BANK_FIT_DEFAULTS_H_

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"
#include "wave/v1/wave.pb.h"

namespace wave {

// The provenance key: a wave.v1.FitOptions in proto3 JSON, for example
// {"steps": "0", "headSteps": "300", "scalerInit": "select"}.
inline constexpr char kFitDefaultsKey[] = "fit_defaults";

// The scheme names the API takes: scaler_init "structured", "select" or
// "naive" (empty: structured); auxiliary "nearest" or "narrower" (empty:
// nearest; "blend" stays an evaluation flag, measured far worse,
// docs/eval/multi-aux). INVALID_ARGUMENT names the field.
absl::Status CheckFitSchemes(const v1::FitOptions& f);

// The bank's defaults (empty options when it has none). A field a request
// leaves unset takes the bank's value, then the server's. INVALID_ARGUMENT,
// naming the bank, when they do not parse or name an unknown scheme.
absl::StatusOr<v1::FitOptions> BankFitDefaults(const TemplateBank& bank);

}  // namespace wave

#endif  // WAVE_SERVER_BANK_FIT_DEFAULTS_H_
