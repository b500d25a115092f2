#include "server/training_recipe.h"

#include "gtest/gtest.h"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

constexpr char kRecipes[] = R"({
  "other_classes": {
    "2x32": {"optimizer": "adamw", "peakLr": 0.001, "epochs": "5", "batch": "128",
             "warmupEpochs": 0.2, "weightDecay": 0.05, "minLrRatio": 0.01,
             "chosenOn": "validation, classes the bank never saw, 2x32"},
    "8x128": {"optimizer": "adamw", "peakLr": 0.0003, "epochs": "5", "batch": "128"}},
  "own_classes": {
    "2x32": {"optimizer": "adamw", "peakLr": 3e-05, "epochs": "5", "batch": "128"}}})";

ViTConfig Target(int64_t depth, int64_t width) {
  return *MakeTarget(depth, width, 0, 10, testing::TinyGeometry());
}

TEST(TrainingRecipeTest, TheNearestMeasuredSizeServesEachTarget) {
  TemplateBank bank = testing::TinyBank(2);
  bank.provenance[kTrainingRecipesKey] = kRecipes;
  ASSERT_TRUE(CheckTrainingRecipes(bank).ok());

  auto exact = TrainingRecipeFor(bank, Target(2, 32), /*on_bank_classes=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status();
  ASSERT_TRUE(exact->has_value());
  EXPECT_EQ((*exact)->peak_lr(), 0.001);
  EXPECT_EQ((*exact)->epochs(), 5);
  EXPECT_EQ((*exact)->warmup_epochs(), 0.2);
  EXPECT_EQ((*exact)->measured_size(), "2x32");
  EXPECT_EQ((*exact)->chosen_on(), "validation, classes the bank never saw, 2x32");

  auto near_small = TrainingRecipeFor(bank, Target(2, 48), false);
  ASSERT_TRUE(near_small.ok());
  EXPECT_EQ((*near_small)->measured_size(), "2x32");
  auto near_large = TrainingRecipeFor(bank, Target(6, 112), false);
  ASSERT_TRUE(near_large.ok());
  EXPECT_EQ((*near_large)->measured_size(), "8x128");
  EXPECT_EQ((*near_large)->peak_lr(), 0.0003);

  // The bank's own classes have their own table: one size, for every target.
  auto own = TrainingRecipeFor(bank, Target(6, 112), /*on_bank_classes=*/true);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ((*own)->peak_lr(), 3e-05);
}

TEST(TrainingRecipeTest, ABankWithoutRecipesGivesNone) {
  TemplateBank bank = testing::TinyBank(2);
  ASSERT_TRUE(CheckTrainingRecipes(bank).ok());
  auto none = TrainingRecipeFor(bank, Target(2, 32), false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  bank.provenance[kTrainingRecipesKey] = R"({"own_classes": {"2x32": {"peakLr": 0.001,
      "epochs": "5", "batch": "128"}}})";
  auto other = TrainingRecipeFor(bank, Target(2, 32), /*on_bank_classes=*/false);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value()) << "a recipe of the bank's own classes serves no others";
}

TEST(TrainingRecipeTest, AnUnusableRecipeIsRefusedNamingTheBankTheKeyAndTheField) {
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  for (const auto& [recipes, why] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "not a JSON object"},
           {R"({"mine": {}})", "unknown key 'mine'"},
           {R"({"own_classes": {"big": {"peakLr": 1, "epochs": "1", "batch": "1"}}})",
            "own_classes: size 'big' is not DEPTHxWIDTH"},
           {R"({"own_classes": {"2x32": {"peakLr": 0, "epochs": "1", "batch": "1"}}})",
            "own_classes.2x32: peakLr must be > 0"},
           {R"({"own_classes": {"2x32": {"peakLr": 1, "epochs": "0", "batch": "1"}}})",
            "own_classes.2x32: epochs must be >= 1"},
           {R"({"own_classes": {"2x32": {"peak": 1}}})", "own_classes.2x32: "}}) {
    bank.provenance[kTrainingRecipesKey] = recipes;
    EXPECT_STATUS(CheckTrainingRecipes(bank), absl::StatusCode::kInvalidArgument,
                  "bank 'tiny': provenance training_recipes: " + why);
  }
}

}  // namespace
}  // namespace wave
