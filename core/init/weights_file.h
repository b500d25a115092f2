// The safetensors files the service returns: the target's weights with the
// metadata a user needs to load and trust them, and the fitted scalers.
#ifndef WAVE_CORE_INIT_WEIGHTS_FILE_H_
#define WAVE_CORE_INIT_WEIGHTS_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/safetensors.h"
#include "core/init/initialize.h"

namespace wave {

struct WeightsFileInfo {
  std::string bank_name, bank_version, bank_sha256;
  std::string device = "cpu";
  int threads = 1;
  BankGeometry geometry;
  std::vector<std::string> class_names;  // index i names label i; empty: none known
};

// A writer over tensors it owns (converted to `dtype` and made contiguous on
// the CPU one tensor at a time, so the float32 originals are released as it
// goes).
struct OwnedFile {
  TensorMap tensors;
  SafetensorsWriter writer;
};

// Takes `result.weights`. Every tensor must stay finite in `dtype` (F16
// overflows past 65504). When `dtype` rounds the weights, the held-out
// accuracy is measured again on the rounded ones, so that
// `result.report.held_out_accuracy` and the file's metadata describe exactly
// the bytes returned.
absl::StatusOr<std::unique_ptr<OwnedFile>> MakeWeightsFile(InitResult& result,
                                                           const ViTConfig& target,
                                                           const FitOptions& fit,
                                                           const WeightsFileInfo& info,
                                                           at::ScalarType dtype);

absl::StatusOr<std::unique_ptr<OwnedFile>> MakeScalersFile(TensorMap scalers,
                                                           const ViTConfig& target,
                                                           const WeightsFileInfo& info);

}  // namespace wave

#endif  // WAVE_CORE_INIT_WEIGHTS_FILE_H_
