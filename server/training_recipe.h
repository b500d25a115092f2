// The training schedule a bank recommends for the weights it initializes:
// chosen on validation per target size and kind of classes (the bank's own,
// or others), carried in the bank's provenance so that it travels with the
// file, and returned in every Summary.
//
// Provenance key `training_recipes`: a JSON object with "own_classes" and/or
// "other_classes", each mapping a size "DEPTHxWIDTH" to a wave.v1.TrainingRecipe
// in proto3 JSON, for example
//   {"other_classes": {"4x96": {"peakLr": 0.001, "epochs": "5", ...}}}
// (written by scripts/bank_fit_defaults.py --key=training_recipes).
#ifndef WAVE_SERVER_TRAINING_RECIPE_H_
#define WAVE_SERVER_TRAINING_RECIPE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "core/bank/template_bank.h"
#include "core/base/vit_config.h"
#include "wave/v1/wave.pb.h"

namespace wave {

inline constexpr char kTrainingRecipesKey[] = "training_recipes";

// The recipe for `target`: the one measured at its size, else at the
// measured size nearest in parameter count (its measured_size says which).
// None when the bank carries no recipe for this kind of classes.
// INVALID_ARGUMENT, naming the bank and the key, when the key does not parse.
absl::StatusOr<std::optional<v1::TrainingRecipe>> TrainingRecipeFor(const TemplateBank& bank,
                                                                    const ViTConfig& target,
                                                                    bool on_bank_classes);

// Every recipe the key holds parses and is usable (positive rate, epochs and
// batch); the registry refuses a bank that fails.
absl::Status CheckTrainingRecipes(const TemplateBank& bank);

}  // namespace wave

#endif  // WAVE_SERVER_TRAINING_RECIPE_H_
