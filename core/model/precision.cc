#include "core/model/precision.h"

#include <ATen/autocast_mode.h>
#include <cpuinfo.h>

#include "absl/strings/str_cat.h"

namespace wave {

absl::string_view PrecisionName(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "f32";
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  if (name == "f32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("precision: '", name, "' is neither 'f32' nor 'bf16'"));
}

std::string Bf16Unsupported(const at::Device& device) {
  if (!device.is_cpu()) return "";
  if (!cpuinfo_initialize()) return "the CPU's features could not be read";
  if (!cpuinfo_has_x86_avx512bf16()) return "this CPU has no AVX512-BF16";
  return "";
}

Precision EffectivePrecision(Precision asked, const at::Device& device, std::string* note) {
  if (note != nullptr) note->clear();
  if (asked != Precision::kBFloat16) return asked;
  const std::string why = Bf16Unsupported(device);
  if (why.empty()) return asked;
  if (note != nullptr) *note = absl::StrCat("bf16 asked, f32 run: ", why);
  return Precision::kFloat32;
}

absl::StatusOr<Precision> ResolvePrecisionSetting(absl::string_view setting,
                                                  const at::Device& device, std::string* note) {
  if (setting == "auto") {
    const Precision precision = EffectivePrecision(Precision::kBFloat16, device, note);
    if (note != nullptr) note->clear();
    return precision;
  }
  absl::StatusOr<Precision> asked = ParsePrecision(setting);
  if (!asked.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("precision setting must be auto, f32 or bf16, got '", setting, "'"));
  }
  return EffectivePrecision(*asked, device, note);
}

AutocastScope::AutocastScope(Precision precision, const at::Device& device) {
  if (precision == Precision::kFloat32) return;
  if (device.is_cpu()) {
    cpu_ = true;
    was_cpu_enabled_ = at::autocast::is_cpu_enabled();
    was_cpu_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  } else {
    gpu_ = true;
    was_gpu_enabled_ = at::autocast::is_enabled();
    was_gpu_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!cpu_ && !gpu_) return;
  // The casts autocast kept of leaf tensors (the weights) are dropped when
  // the outermost scope ends, as torch.autocast does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cpu_) {
    at::autocast::set_cpu_enabled(was_cpu_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_cpu_dtype_);
  }
  if (gpu_) {
    at::autocast::set_enabled(was_gpu_enabled_);
    at::autocast::set_autocast_gpu_dtype(was_gpu_dtype_);
  }
}

}  // namespace wave
