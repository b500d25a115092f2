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
  std::string training_recipe;           // JSON, how to train the weights; empty: none
};

// A writer over tensors it owns (converted to `dtype` and made contiguous on
// the CPU one tensor at a time, so the float32 originals are released as it
// goes).
struct OwnedFile {
  TensorMap tensors;
  SafetensorsWriter writer;
};

struct WeightsFile {
  std::unique_ptr<OwnedFile> file;
  // Measured on exactly the bytes in `file`: the fit's figure in float32,
  // measured again on the rounded weights when the dtype rounds them.
  double held_out_accuracy = 0;
};

// The weights file of `weights` (taken, released tensor by tensor). Every
// tensor must stay finite in `dtype` (F16 overflows past 65504). `report`
// and `held_out` are the fit's; the file's metadata records the accuracy
// returned.
absl::StatusOr<WeightsFile> MakeWeightsFile(TensorMap weights, const FitReport& report,
                                            const Dataset& held_out, const ViTConfig& target,
                                            const FitOptions& fit, const WeightsFileInfo& info,
                                            at::ScalarType dtype);

absl::StatusOr<std::unique_ptr<OwnedFile>> MakeScalersFile(TensorMap scalers,
                                                           const ViTConfig& target,
                                                           const WeightsFileInfo& info);

}  // namespace wave

#endif  // WAVE_CORE_INIT_WEIGHTS_FILE_H_
