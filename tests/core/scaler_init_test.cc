// Scaler resampling: the auxiliary's own size is reproduced exactly.
#include "core/bank/scaler_init.h"

#include "core/base/kinds.h"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using testing::TinyBank;
using testing::TinyConfig;

TEST(ScalerInitTest, TheAuxiliarysOwnSizeGetsItsOwnScalers) {
  TemplateBank bank = TinyBank(3);
  for (ScalerInit scheme : {ScalerInit::kStructured, ScalerInit::kNaive}) {
    auto scalers = ResampleScalers(bank, bank.auxiliaries[0].config, scheme);
    ASSERT_OK(scalers);
    for (const auto& [name, s] : bank.auxiliaries[0].scalers) {
      ASSERT_TRUE(scalers->count(name)) << name;
      EXPECT_TRUE(at::allclose(scalers->at(name), s, 1e-5, 1e-6))
          << ScalerInitName(scheme) << " " << name;
    }
  }
}

TEST(ScalerInitTest, ANewSizeGetsEveryScalerInItsGrid) {
  TemplateBank bank = TinyBank(3);
  const ViTConfig target = TinyConfig(5, 64);
  auto scalers = ResampleScalers(bank, target, ScalerInit::kStructured);
  ASSERT_OK(scalers);
  const auto params = TemplatedParams(target, bank.geometry);
  EXPECT_EQ(scalers->size(), params.size());
  for (const auto& p : params) {
    ASSERT_TRUE(scalers->count(p.name)) << p.name;
    EXPECT_EQ(scalers->at(p.name).sizes().vec(), (std::vector<int64_t>{3, p.a, p.b})) << p.name;
  }
  EXPECT_EQ(ScalerCount(target, bank.geometry, bank), [&] {
    int64_t n = 0;
    for (const auto& [name, s] : *scalers) n += s.numel();
    return n;
  }());
}

TEST(ScalerInitTest, InterpolationKeepsTheEndsAndIsIdentityAtTheSameSize) {
  EXPECT_TRUE(InterpolationMatrix(4, 4).equal(at::eye(4)));
  at::Tensor m = InterpolationMatrix(5, 3);
  EXPECT_FLOAT_EQ(m[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(m[4][2].item<float>(), 1.0f);
  EXPECT_TRUE(at::allclose(m.sum(1), at::ones({5})));
}

}  // namespace
}  // namespace wave
