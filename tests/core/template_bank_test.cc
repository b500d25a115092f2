#include "core/bank/template_bank.h"

#include <fstream>

#include "core/base/file_util.h"
#include "core/base/kinds.h"
#include "core/model/vit.h"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;
using testing::TinyBank;
using testing::TinyConfig;
using testing::TinyGeometry;

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(TemplateBankTest, SavesAndReloadsBitExactly) {
  TemplateBank bank = TinyBank();
  const std::string path = TempPath("bank.safetensors");
  ASSERT_OK(SaveBank(bank, path));
  auto loaded = LoadBank(path);
  ASSERT_OK(loaded);
  EXPECT_TRUE(loaded->geometry == bank.geometry);
  EXPECT_TRUE(loaded->ancestry == bank.ancestry);
  EXPECT_EQ(loaded->provenance.at("note"), "test");
  EXPECT_EQ(loaded->templates.size(), bank.templates.size());
  for (const auto& [kind, t] : bank.templates) {
    EXPECT_TRUE(loaded->templates.at(kind).equal(t)) << kind;
  }
  for (const auto& [name, s] : bank.auxiliaries[0].scalers) {
    EXPECT_TRUE(loaded->auxiliaries[0].scalers.at(name).equal(s)) << name;
  }
  EXPECT_EQ(loaded->file_sha256.size(), 64u);
}

TEST(TemplateBankTest, ComposedModelGivesSameLogitsAfterReload) {
  TemplateBank bank = TinyBank();
  const std::string path = TempPath("bank2.safetensors");
  ASSERT_OK(SaveBank(bank, path));
  auto loaded = LoadBank(path);
  ASSERT_OK(loaded);
  ViTConfig c = bank.ancestry;
  TensorMap head = DirectInit(c, 9);
  auto logits = [&](const TemplateBank& b) {
    TensorMap p = ComposeWeights(b.templates, b.auxiliaries[0].scalers, c, b.geometry);
    p["head.weight"] = head["head.weight"];
    p["head.bias"] = head["head.bias"];
    return VitForward(c, p, at::ones({2, 1, 28, 28}));
  };
  EXPECT_TRUE(logits(bank).equal(logits(*loaded)));
}

TEST(TemplateBankTest, DetectsAFlippedByte) {
  TemplateBank bank = TinyBank();
  const std::string path = TempPath("bank3.safetensors");
  ASSERT_OK(SaveBank(bank, path));
  auto bytes = ReadFileToString(path);
  ASSERT_OK(bytes);
  std::string corrupt = *bytes;
  corrupt[corrupt.size() - 5] ^= 0x40;
  EXPECT_STATUS(ParseBank(corrupt), StatusCode::kDataLoss, "checksum mismatch");
  EXPECT_STATUS(ParseBank(bytes->substr(0, bytes->size() / 2)), StatusCode::kInvalidArgument,
                "safetensors");
  EXPECT_STATUS(LoadBank(TempPath("absent.safetensors")), StatusCode::kNotFound, "absent");
}

TEST(TemplateBankTest, ValidationNamesTheBrokenPart) {
  TemplateBank bank = TinyBank();
  bank.templates.erase("mlp.fc1.weight");
  EXPECT_STATUS(ValidateBank(bank), StatusCode::kInvalidArgument,
                "no templates for 'mlp.fc1.weight'");
  bank = TinyBank();
  bank.auxiliaries[0].scalers["blocks.1.attn.proj.weight"] = at::zeros({4, 1, 1});
  EXPECT_STATUS(ValidateBank(bank), StatusCode::kInvalidArgument,
                "scalers 'blocks.1.attn.proj.weight' have shape [4, 1, 1]");
  bank = TinyBank();
  bank.templates["norm.bias"] = at::full({4, 16, 1}, NAN);
  EXPECT_STATUS(ValidateBank(bank), StatusCode::kInvalidArgument, "NaN or Inf");
  bank = TinyBank();
  bank.auxiliaries.clear();
  EXPECT_STATUS(SaveBank(bank, TempPath("never.safetensors")), StatusCode::kInvalidArgument,
                "no auxiliary model");
}

TEST(TemplateBankTest, ScalerCountIsFarBelowTheModel) {
  TemplateBank bank = TinyBank(4);
  ViTConfig big = TinyConfig(8, 64);
  const int64_t scalers = ScalerCount(big, bank.geometry, bank);
  EXPECT_GT(scalers, 0);
  EXPECT_LT(scalers * 20, big.ParamCount());
}

}  // namespace
}  // namespace wave
