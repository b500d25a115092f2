#include "server/training_recipe.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace wave {
namespace {

constexpr char kOwnClasses[] = "own_classes";
constexpr char kOtherClasses[] = "other_classes";

struct Measured {
  ViTConfig size;
  v1::TrainingRecipe recipe;
};
using RecipeTable = std::map<std::string, std::vector<Measured>>;  // by kind of classes

absl::Status Invalid(const TemplateBank& bank, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bank '", bank.name, "': provenance ", kTrainingRecipesKey, ": ", why));
}

absl::Status CheckUsable(const v1::TrainingRecipe& r) {
  if (!(r.peak_lr() > 0) || !std::isfinite(r.peak_lr())) {
    return absl::InvalidArgumentError("peakLr must be > 0");
  }
  if (r.epochs() < 1) return absl::InvalidArgumentError("epochs must be >= 1");
  if (r.batch() < 1) return absl::InvalidArgumentError("batch must be >= 1");
  if (r.warmup_epochs() < 0 || r.weight_decay() < 0 || r.min_lr_ratio() < 0 ||
      r.min_lr_ratio() > 1) {
    return absl::InvalidArgumentError(
        "warmupEpochs and weightDecay must be >= 0, minLrRatio in [0, 1]");
  }
  return absl::OkStatus();
}

// The key's recipes by kind of classes; an empty table when the key is absent.
absl::StatusOr<RecipeTable> ReadTable(const TemplateBank& bank) {
  RecipeTable table;
  auto it = bank.provenance.find(kTrainingRecipesKey);
  if (it == bank.provenance.end()) return table;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Invalid(bank, "not a JSON object");
  for (const auto& [kind, sizes] : j.items()) {
    if (kind != kOwnClasses && kind != kOtherClasses) {
      return Invalid(bank, absl::StrCat("unknown key '", kind, "' (own_classes, other_classes)"));
    }
    if (!sizes.is_object()) return Invalid(bank, absl::StrCat(kind, ": not an object"));
    for (const auto& [size_name, value] : sizes.items()) {
      auto size = ParseTargetSize(size_name, bank.ancestry.classes, bank.geometry);
      if (!size.ok()) return Invalid(bank, absl::StrCat(kind, ": ", size.status().message()));
      Measured m{*size, {}};
      auto parsed = google::protobuf::util::JsonStringToMessage(value.dump(), &m.recipe);
      if (!parsed.ok()) {
        return Invalid(bank, absl::StrCat(kind, ".", size_name, ": ",
                                          std::string(parsed.message().data(),
                                                      parsed.message().size())));
      }
      if (absl::Status usable = CheckUsable(m.recipe); !usable.ok()) {
        return Invalid(bank, absl::StrCat(kind, ".", size_name, ": ", usable.message()));
      }
      m.recipe.set_measured_size(size_name);
      table[kind].push_back(std::move(m));
    }
  }
  return table;
}

}  // namespace

absl::StatusOr<std::optional<v1::TrainingRecipe>> TrainingRecipeFor(const TemplateBank& bank,
                                                                    const ViTConfig& target,
                                                                    bool on_bank_classes) {
  ASSIGN_OR_RETURN(RecipeTable table, ReadTable(bank));
  auto it = table.find(on_bank_classes ? kOwnClasses : kOtherClasses);
  if (it == table.end() || it->second.empty()) return std::nullopt;
  // Nearest in parameter count, on a log scale; an exact size is at 0.
  const double wanted = std::log(static_cast<double>(target.ParamCount()));
  const Measured* nearest = nullptr;
  double best = std::numeric_limits<double>::infinity();
  for (const Measured& m : it->second) {
    const double distance = std::abs(std::log(static_cast<double>(m.size.ParamCount())) - wanted);
    if (distance < best) {
      best = distance;
      nearest = &m;
    }
  }
  return nearest->recipe;
}

absl::Status CheckTrainingRecipes(const TemplateBank& bank) { return ReadTable(bank).status(); }

}  // namespace wave
