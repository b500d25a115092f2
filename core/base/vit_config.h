// The target architecture (a timm VisionTransformer) and a template bank's
// geometry, with the rules that tie them together. No LibTorch.
#ifndef WAVE_CORE_BASE_VIT_CONFIG_H_
#define WAVE_CORE_BASE_VIT_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wave {

struct ViTConfig {
  int64_t depth = 6;
  int64_t width = 128;
  int64_t heads = 4;
  int64_t mlp_ratio = 4;
  int64_t patch = 7;
  int64_t channels = 1;
  int64_t image_size = 28;
  int64_t classes = 10;

  int64_t head_dim() const { return width / heads; }
  int64_t mlp_hidden() const { return mlp_ratio * width; }
  int64_t grid() const { return image_size / patch; }
  int64_t tokens() const { return grid() * grid() + 1; }
  // Every parameter, head included.
  int64_t ParamCount() const;
  std::string ShortName() const;  // "6x128h4"
  bool operator==(const ViTConfig& o) const;
};

// Limits on any single dimension, so products of them never overflow.
inline constexpr int64_t kMaxDim = 1 << 16;

// Internal consistency: positive sizes, heads dividing width, patch dividing
// the image side. Messages name the field and the rule.
absl::Status ValidateConfig(const ViTConfig& config);

// What a template bank fixes for every model built from it.
struct BankGeometry {
  int64_t image_size = 28;
  int64_t patch = 7;
  int64_t channels = 1;
  int64_t tile = 32;      // w: templates are w x w (matrices) or length w
  int64_t head_dim = 32;  // d_h
  int64_t mlp_ratio = 4;  // r
  // Input normalization, one value per channel, of pixels scaled to [0, 1].
  std::vector<double> mean = {0.2860};
  std::vector<double> std = {0.3530};

  int64_t width_step() const;  // lcm(tile, head_dim)
  bool operator==(const BankGeometry& o) const;
};

absl::Status ValidateGeometry(const BankGeometry& geometry);

// Whether a bank of `geometry` can build `config` (width a multiple of
// lcm(w, d_h), M a multiple of w, heads = width / d_h, same image geometry).
absl::Status ValidateTarget(const ViTConfig& config, const BankGeometry& geometry);

// Fills in heads (width / d_h) and the geometry's fixed fields when the
// caller left them at zero, then validates.
absl::StatusOr<ViTConfig> CompleteTarget(ViTConfig config, const BankGeometry& geometry);
// A target of the given size (heads 0: width / d_h) with everything else from
// the geometry, validated.
absl::StatusOr<ViTConfig> MakeTarget(int64_t depth, int64_t width, int64_t heads, int64_t classes,
                                     const BankGeometry& geometry);
// "DEPTHxWIDTH" (e.g. "9x192"), as the tools take sizes on the command line.
absl::StatusOr<ViTConfig> ParseTargetSize(absl::string_view text, int64_t classes,
                                          const BankGeometry& geometry);

// JSON forms used in file metadata.
std::string ConfigToJson(const ViTConfig& config);
absl::StatusOr<ViTConfig> ConfigFromJson(const std::string& text);
std::string GeometryToJson(const BankGeometry& geometry);
absl::StatusOr<BankGeometry> GeometryFromJson(const std::string& text);
// The keyword arguments of timm's VisionTransformer that load the weights.
std::string TimmArgsJson(const ViTConfig& config);

}  // namespace wave

#endif  // WAVE_CORE_BASE_VIT_CONFIG_H_
