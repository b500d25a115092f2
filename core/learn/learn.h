// Learning weight templates (docs/DESIGN.md, "Learning templates"):
// an ancestry ViT, then templates and auxiliary scalers trained together by
// distillation from it.
#ifndef WAVE_CORE_LEARN_LEARN_H_
#define WAVE_CORE_LEARN_LEARN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"
#include "core/base/vit_config.h"
#include "core/model/dataset.h"
#include "core/model/train_loop.h"

namespace wave {

struct AncestryOptions {
  ViTConfig config;
  TrainLoopOptions loop;
  std::string checkpoint_dir;  // empty: no checkpoints
  // Fine-tunes these weights instead of training from timm's initialization.
  TensorMap start;
};

// Trains a ViT from scratch, resuming from checkpoint_dir when it holds one.
// Returns its parameters (no grad).
absl::StatusOr<TensorMap> TrainAncestry(const AncestryOptions& options, const Dataset& train,
                                        const Dataset& test);

// Loads an ancestry from a safetensors file with timm names, checking every
// name and shape against `config`.
absl::StatusOr<TensorMap> LoadAncestry(const std::string& path, const ViTConfig& config);

// A timm-named standard ViT checkpoint of any size and geometry, its
// configuration read from its tensors (ConfigFromTimmShapes). Heads: `heads`
// when > 0, else the file's metadata ("num_heads", or wave.model_args'
// "num_heads"), else width / `head_dim` when that is > 0.
struct LoadedAncestry {
  ViTConfig config;
  TensorMap params;
};
absl::StatusOr<LoadedAncestry> LoadTimmAncestry(const std::string& path, int64_t heads,
                                                int64_t head_dim = 0);

enum class TemplateInit { kSvd, kRandom };

struct DistillOptions {
  BankGeometry geometry;
  std::vector<ViTConfig> auxiliaries;  // classes as the ancestry's
  int64_t templates_per_kind = 8;
  TemplateInit init = TemplateInit::kSvd;
  double temperature = 2.0;
  double kl_weight = 1.0;  // loss = kl_weight * tau^2 * KL + CE
  TrainLoopOptions loop;
  std::string checkpoint_dir;
};

// Rank-N nearest Kronecker-sum of each kind across the ancestry's layers
// (Van Loan-Pitsianis): templates [N, p, q] and per-parameter scalers for an
// auxiliary of the ancestry's own size.
void SvdTemplates(const TensorMap& ancestry, const ViTConfig& config, const BankGeometry& geometry,
                  int64_t n, uint64_t seed, TensorMap* templates, TensorMap* scalers);

// Learns templates by distillation and returns the bank (provenance left to
// the caller). `ancestry` is frozen.
absl::StatusOr<TemplateBank> DistillTemplates(const DistillOptions& options,
                                              const TensorMap& ancestry,
                                              const ViTConfig& ancestry_config,
                                              const Dataset& train, const Dataset& test);

}  // namespace wave

#endif  // WAVE_CORE_LEARN_LEARN_H_
