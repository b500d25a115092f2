#include "core/model/precision.h"

#include <ATen/autocast_mode.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

// The kernel's own account of the CPU's features, read apart from cpuinfo.
bool CpuinfoListsAvx512Bf16() {
  std::ifstream file("/proc/cpuinfo");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    std::string flag;
    while (flags >> flag) {
      if (flag == "avx512_bf16") return true;
    }
    return false;
  }
  return false;
}

TEST(PrecisionTest, NamesParseBackAndOthersAreRefusedNamingBoth) {
  for (Precision p : {Precision::kFloat32, Precision::kBFloat16}) {
    auto parsed = ParsePrecision(PrecisionName(p));
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_STATUS(ParsePrecision("fp16"), absl::StatusCode::kInvalidArgument,
                "precision: 'fp16' is neither 'f32' nor 'bf16'");
}

TEST(PrecisionTest, TheCpuHasBf16ExactlyWhenTheKernelListsIt) {
  const std::string why = Bf16Unsupported(at::Device(at::kCPU));
  if (CpuinfoListsAvx512Bf16()) {
    EXPECT_EQ(why, "");
  } else {
    EXPECT_EQ(why, "this CPU has no AVX512-BF16");
  }
}

TEST(PrecisionTest, Bf16RunsWhereSupportedElseF32WithTheReason) {
  std::string note = "stale";
  EXPECT_EQ(EffectivePrecision(Precision::kFloat32, at::Device(at::kCPU), &note),
            Precision::kFloat32);
  EXPECT_EQ(note, "");
  const Precision got = EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), &note);
  if (CpuinfoListsAvx512Bf16()) {
    EXPECT_EQ(got, Precision::kBFloat16);
    EXPECT_EQ(note, "");
  } else {
    EXPECT_EQ(got, Precision::kFloat32);
    EXPECT_EQ(note, "bf16 asked, f32 run: this CPU has no AVX512-BF16");
  }
}

TEST(PrecisionTest, AutoIsBf16WhereSupportedWithoutANoteAndExplicitSettingsAreAsked) {
  const at::Device cpu(at::kCPU);
  const Precision bf16_here = CpuinfoListsAvx512Bf16() ? Precision::kBFloat16 : Precision::kFloat32;
  std::string note = "stale";
  ASSERT_OK_AND_ASSIGN(Precision automatic, ResolvePrecisionSetting("auto", cpu, &note));
  EXPECT_EQ(automatic, bf16_here);
  EXPECT_EQ(note, "");
  ASSERT_OK_AND_ASSIGN(Precision f32, ResolvePrecisionSetting("f32", cpu, &note));
  EXPECT_EQ(f32, Precision::kFloat32);
  ASSERT_OK_AND_ASSIGN(Precision bf16, ResolvePrecisionSetting("bf16", cpu, &note));
  EXPECT_EQ(bf16, bf16_here);
  EXPECT_EQ(note.empty(), bf16_here == Precision::kBFloat16) << note;
  EXPECT_STATUS(ResolvePrecisionSetting("fp8", cpu, nullptr), absl::StatusCode::kInvalidArgument,
                "precision setting must be auto, f32 or bf16, got 'fp8'");
}

TEST(PrecisionTest, AScopeCastsProductsOnlyWhileAliveAndRestoresTheThreadsState) {
  const at::Tensor x = at::randn({4, 8}), w = at::randn({3, 8});
  {
    const AutocastScope f32(Precision::kFloat32, at::Device(at::kCPU));
    EXPECT_EQ(at::linear(x, w).scalar_type(), at::kFloat);
  }
  {
    const AutocastScope bf16(Precision::kBFloat16, at::Device(at::kCPU));
    const at::Tensor y = at::linear(x, w);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::allclose(y.to(at::kFloat), at::linear(x, w).to(at::kFloat)));
    // Inputs and parameters are untouched.
    EXPECT_EQ(w.scalar_type(), at::kFloat);
  }
  EXPECT_EQ(at::linear(x, w).scalar_type(), at::kFloat);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  // A scope inside code that already casts leaves it casting.
  at::autocast::set_cpu_enabled(true);
  { const AutocastScope inner(Precision::kBFloat16, at::Device(at::kCPU)); }
  EXPECT_TRUE(at::autocast::is_cpu_enabled());
  at::autocast::set_cpu_enabled(false);
}

}  // namespace
}  // namespace wave
