// The arithmetic precision of a fit's (or a training's) forward passes.
//
// bf16 runs matrix products and convolutions in bfloat16 through LibTorch's
// autocast (oneDNN on the CPU); parameters, their gradients, optimizer state,
// losses and normalizations stay float32, so the weights a fit returns are
// float32 whichever precision computed them.
//
// Thread safety: the functions are safe from any thread; an AutocastScope
// changes only the state of the thread that made it.
#ifndef WAVE_CORE_MODEL_PRECISION_H_
#define WAVE_CORE_MODEL_PRECISION_H_

#include <ATen/ATen.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

enum class Precision { kFloat32, kBFloat16 };

absl::string_view PrecisionName(Precision precision);  // "f32", "bf16"
// "f32" or "bf16"; INVALID_ARGUMENT naming both otherwise.
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);

// Why `device` cannot run bf16 products at full speed, or "" when it can:
// on the CPU, bf16 needs AVX512-BF16 (every CPU with AMX has it too); CUDA
// devices are taken to have it (Ampere and later; LibTorch here cannot ask).
std::string Bf16Unsupported(const at::Device& device);

// The precision a fit runs at: `asked`, except bf16 where the device lacks
// it (emulated bf16 is slower than float32), which runs float32. `note`
// (may be null) is set to why, or cleared.
Precision EffectivePrecision(Precision asked, const at::Device& device, std::string* note);

// A default precision setting ("auto", "f32" or "bf16") on `device`: auto is
// bf16 where the device has it, else f32, with no note; an explicit bf16 the
// device lacks runs f32 with `note` saying why. INVALID_ARGUMENT otherwise.
absl::StatusOr<Precision> ResolvePrecisionSetting(absl::string_view setting,
                                                  const at::Device& device, std::string* note);

// While alive, this thread's forward passes on `device` run at `precision`
// (for kFloat32, nothing changes). Not copyable; make one per fit, on the
// thread that runs it. Backward passes follow the forward's dtypes.
class AutocastScope {
 public:
  AutocastScope(Precision precision, const at::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool cpu_ = false, gpu_ = false;
  bool was_cpu_enabled_ = false, was_gpu_enabled_ = false;
  at::ScalarType was_cpu_dtype_ = at::kBFloat16, was_gpu_dtype_ = at::kHalf;
};

}  // namespace wave

#endif  // WAVE_CORE_MODEL_PRECISION_H_
