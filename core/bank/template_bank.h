// A template bank: templates per kind, the auxiliary models' scalers and
// configurations, geometry and provenance, stored as one safetensors file.
#ifndef WAVE_CORE_BANK_TEMPLATE_BANK_H_
#define WAVE_CORE_BANK_TEMPLATE_BANK_H_

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/kinds.h"
#include "core/base/vit_config.h"
#include "core/model/tensor_io.h"

namespace wave {

inline constexpr char kBankFormat[] = "wave-bank/1";

struct AuxiliaryModel {
  ViTConfig config;
  TensorMap scalers;  // by timm parameter name (head excluded), [N, a, b]
  TensorMap head;     // "head.weight" [classes, width], "head.bias" [classes]
  double accuracy = 0;  // test accuracy of the composed model, percent
};

struct TemplateBank {
  std::string name = "default";
  std::string version = "1";
  BankGeometry geometry;
  TensorMap templates;  // by kind, [N, p, q]
  std::vector<AuxiliaryModel> auxiliaries;
  ViTConfig ancestry;
  // Free-form facts: data set, epochs, accuracies, command line, ...
  std::map<std::string, std::string> provenance;
  std::string file_sha256;  // of the file it was loaded from

  int64_t NumTemplates(const std::string& kind) const;
  int64_t TemplateParamCount() const;
};

// Checks kinds, template shapes and every auxiliary's scalers.
absl::Status ValidateBank(const TemplateBank& bank);

absl::Status SaveBank(const TemplateBank& bank, const std::string& path);
absl::StatusOr<TemplateBank> LoadBank(const std::string& path);
absl::StatusOr<TemplateBank> ParseBank(std::string bytes);

// Composes every templated parameter of `config` from `templates` and
// `scalers` (by timm name). The head is not included.
TensorMap ComposeWeights(const TensorMap& templates, const TensorMap& scalers,
                         const ViTConfig& config, const BankGeometry& geometry);

// The parameters after the first `first_block` blocks: those of blocks
// [first_block, depth) and the final norm (what VitFeaturesFromTokens reads).
bool IsAfterBlock(const TemplatedParam& param, int64_t first_block);
// ComposeWeights for those parameters only; `scalers` needs only theirs.
TensorMap ComposeAfterBlock(const TensorMap& templates, const TensorMap& scalers,
                            const ViTConfig& config, const BankGeometry& geometry,
                            int64_t first_block);

// Tensor names in a bank file, shared with template learning's checkpoints:
// "templates.<kind>" and "aux.<index>.<param>".
inline constexpr char kTemplatePrefix[] = "templates.";
std::string AuxiliaryPrefix(size_t index);

// Number of scaler entries a target needs.
int64_t ScalerCount(const ViTConfig& config, const BankGeometry& geometry,
                    const TemplateBank& bank);

// The bank's class names, index i for label i: its provenance's
// "class_names" (a JSON list), else "0", "1", ... for its ancestry's classes.
std::vector<std::string> BankClassNames(const TemplateBank& bank);

}  // namespace wave

#endif  // WAVE_CORE_BANK_TEMPLATE_BANK_H_
