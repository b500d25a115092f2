// BankRegistry: loading, a reload that fails keeps the previous bank, lookup.
#include "server/bank_registry.h"

#include <unistd.h>

#include <fstream>

#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

std::string TempBank(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(getpid()) + ".safetensors";
}

TEST(BankRegistryTest, AFailedReloadKeepsThePreviousBankServing) {
  const std::string path = TempBank("registry");
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  bank.version = "1";
  ASSERT_OK(SaveBank(bank, path));
  BankRegistry registry;
  ASSERT_OK(registry.LoadAll({path}));
  auto first = registry.Get("");
  ASSERT_OK(first);
  EXPECT_EQ((*first)->version, "1");

  std::ofstream(path, std::ios::trunc) << "not a bank";
  EXPECT_FALSE(registry.ReloadAll({path}).ok());
  auto still = registry.Get("tiny");
  ASSERT_OK(still);
  EXPECT_EQ((*still)->file_sha256, (*first)->file_sha256);

  bank.version = "2";
  ASSERT_OK(SaveBank(bank, path));
  ASSERT_OK(registry.ReloadAll({path}));
  auto second = registry.Get("tiny");
  ASSERT_OK(second);
  EXPECT_EQ((*second)->version, "2");
  EXPECT_EQ((*first)->version, "1") << "a call holding the old bank keeps it";
  std::remove(path.c_str());
}

TEST(BankRegistryTest, UnknownNamesAreNotFoundAndListTheLoadedOnes) {
  const std::string path = TempBank("registry-names");
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  ASSERT_OK(SaveBank(bank, path));
  BankRegistry registry;
  ASSERT_OK(registry.LoadAll({path}));
  EXPECT_STATUS(registry.Get("imagenet"), StatusCode::kNotFound, "no bank named 'imagenet'");
  EXPECT_EQ(registry.default_name(), "tiny");
  EXPECT_STATUS(registry.LoadAll({path + ".missing"}), StatusCode::kNotFound, "");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace wave
