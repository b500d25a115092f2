// Tensors to and from safetensors files, in every dtype the service writes.
#include "core/model/tensor_io.h"

#include <unistd.h>

#include "core/base/safetensors.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

TEST(TensorIoTest, RoundTripsEveryDtypeBitForBit) {
  TensorMap tensors = {
      {"f32", at::randn({3, 5})},
      {"f16", at::randn({4}).to(at::kHalf)},
      {"bf16", at::randn({2, 2}).to(at::kBFloat16)},
      {"i64", at::arange(7, at::kLong)},
      {"u8", at::arange(9, at::kLong).to(at::kByte).view({3, 3})},
      {"empty", at::zeros({0, 4})},
  };
  const std::string path = ::testing::TempDir() + "/io." + std::to_string(getpid()) + ".st";
  ASSERT_OK(WriteTensors(path, tensors, {{"k", "v"}}));
  auto file = SafetensorsFile::ReadFile(path);
  ASSERT_OK(file);
  EXPECT_EQ(file->metadata().at("k"), "v");
  auto read = ReadTensors(*file);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const at::Tensor& r = read->at(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(r.equal(t)) << name;
  }
  std::remove(path.c_str());
}

TEST(TensorIoTest, NonContiguousTensorsAreWrittenInLogicalOrder) {
  at::Tensor t = at::arange(6, at::kFloat).view({2, 3}).t();  // a transposed view
  const std::string path = ::testing::TempDir() + "/io-t." + std::to_string(getpid()) + ".st";
  ASSERT_OK(WriteTensors(path, {{"t", t}}, {}));
  auto file = SafetensorsFile::ReadFile(path);
  ASSERT_OK(file);
  auto read = ReadTensors(*file);
  ASSERT_OK(read);
  EXPECT_TRUE(read->at("t").equal(t));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace wave
