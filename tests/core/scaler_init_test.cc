// Scaler resampling: the auxiliary's own size is reproduced exactly.
#include "core/bank/scaler_init.h"

#include <cmath>

#include "core/base/kinds.h"
#include "core/model/vit.h"
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

// A second auxiliary at another size, made from the first: its scalers
// resampled there, then perturbed so that the two disagree.
TemplateBank TwoAuxiliaryBank(const ViTConfig& second) {
  TemplateBank bank = TinyBank(3);
  AuxiliaryModel aux;
  aux.config = second;
  aux.scalers = *ResampleScalers(bank, second, ScalerInit::kStructured);
  at::Generator gen = MakeGenerator(7);
  for (auto& [name, s] : aux.scalers) s = s + 0.1 * at::randn(s.sizes(), gen);
  aux.head = ResampleHead(bank.auxiliaries[0], second, bank.geometry, ScalerInit::kStructured);
  bank.auxiliaries.push_back(aux);
  return bank;
}

TEST(ScalerInitTest, SeveralAuxiliariesBlendTheTwoNearestByInverseDistance) {
  const ViTConfig small = TinyBank(3).auxiliaries[0].config, large = TinyConfig(6, 64);
  TemplateBank both = TwoAuxiliaryBank(large);
  // At an auxiliary's own size: that one alone, exactly.
  for (const ViTConfig& own : {small, large}) {
    auto scalers = ResampleScalers(both, own, ScalerInit::kStructured, AuxiliaryMix::kBlend);
    ASSERT_OK(scalers);
    const AuxiliaryModel& aux = both.auxiliaries[own.depth == small.depth ? 0 : 1];
    for (const auto& [name, s] : aux.scalers) {
      EXPECT_TRUE(at::allclose(scalers->at(name), s, 1e-5, 1e-6)) << name;
    }
  }
  // Between them: each resampled alone, weighted by inverse distance.
  const ViTConfig between = TinyConfig(4, 48);
  auto blend = AuxiliarySources(both, between, AuxiliaryMix::kBlend);
  ASSERT_EQ(blend.size(), 2u);
  const double d_small =
      std::abs(std::log(double(small.depth) / 4)) + std::abs(std::log(double(small.width) / 48));
  const double d_large = std::abs(std::log(6.0 / 4)) + std::abs(std::log(64.0 / 48));
  const double w_small = (1 / d_small) / (1 / d_small + 1 / d_large);
  for (const auto& [aux, weight] : blend) {
    EXPECT_NEAR(weight, aux == &both.auxiliaries[0] ? w_small : 1 - w_small, 1e-12);
  }
  TemplateBank only_small = both, only_large = both;
  only_small.auxiliaries.pop_back();
  only_large.auxiliaries.erase(only_large.auxiliaries.begin());
  auto mixed = ResampleScalers(both, between, ScalerInit::kStructured, AuxiliaryMix::kBlend);
  auto from_small = ResampleScalers(only_small, between, ScalerInit::kStructured);
  auto from_large = ResampleScalers(only_large, between, ScalerInit::kStructured);
  ASSERT_OK(mixed);
  ASSERT_OK(from_small);
  ASSERT_OK(from_large);
  for (const auto& [name, s] : *mixed) {
    EXPECT_TRUE(at::allclose(
        s, from_small->at(name) * w_small + from_large->at(name) * (1 - w_small), 1e-5, 1e-6))
        << name;
  }
  // The head still comes from the nearest one.
  EXPECT_EQ(&NearestAuxiliary(both, between), blend.front().first);
}

TEST(ScalerInitTest, SeveralAuxiliariesByDefaultTheNearestAlone) {
  const ViTConfig small = TinyBank(3).auxiliaries[0].config, large = TinyConfig(6, 64);
  TemplateBank both = TwoAuxiliaryBank(large);
  TemplateBank only_large = both;
  only_large.auxiliaries.erase(only_large.auxiliaries.begin());
  // 5x64 is nearer the 6x64 auxiliary than the small one.
  const ViTConfig target = TinyConfig(5, 64);
  auto sources = AuxiliarySources(both, target, AuxiliaryMix::kNearest);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].first, &both.auxiliaries[1]);
  EXPECT_EQ(sources[0].second, 1.0);
  auto nearest = ResampleScalers(both, target, ScalerInit::kStructured);
  auto alone = ResampleScalers(only_large, target, ScalerInit::kStructured);
  ASSERT_OK(nearest);
  ASSERT_OK(alone);
  for (const auto& [name, s] : *alone) EXPECT_TRUE(at::equal(nearest->at(name), s)) << name;
  EXPECT_EQ(ParseAuxiliaryMix("blend").value(), AuxiliaryMix::kBlend);
  EXPECT_EQ(ParseAuxiliaryMix("").value(), AuxiliaryMix::kNearest);
  EXPECT_EQ(ParseAuxiliaryMix("mean").status().code(), absl::StatusCode::kInvalidArgument);
  // The names the service records and echoes parse back to the same mix.
  for (AuxiliaryMix mix :
       {AuxiliaryMix::kNearest, AuxiliaryMix::kBlend, AuxiliaryMix::kNearestNarrower}) {
    EXPECT_EQ(ParseAuxiliaryMix(AuxiliaryMixName(mix)).value(), mix);
  }
}

TEST(ScalerInitTest, NarrowerPrefersAnAuxiliaryNoWiderThanTheTarget) {
  const ViTConfig small = TinyBank(3).auxiliaries[0].config, large = TinyConfig(6, 64);
  TemplateBank both = TwoAuxiliaryBank(large);
  // 6x48 is nearer 6x64, but only the small one (width 32) is no wider.
  const ViTConfig target = TinyConfig(6, 48);
  EXPECT_EQ(&NearestAuxiliary(both, target), &both.auxiliaries[1]);
  EXPECT_EQ(&NearestAuxiliary(both, target, AuxiliaryMix::kNearestNarrower), &both.auxiliaries[0]);
  // None no wider than 1x16: the nearest of all.
  EXPECT_EQ(&NearestAuxiliary(both, TinyConfig(1, 16), AuxiliaryMix::kNearestNarrower),
            &both.auxiliaries[0]);
  EXPECT_EQ(small.width, 32);
}

TEST(ScalerInitTest, SelectionMapsPickNearestAndSplitWhatIsReadTwice) {
  // 2 -> 4: each source picked twice; read weights halved.
  EXPECT_TRUE(at::equal(SelectionMatrix(4, 2, false),
                        at::tensor({1, 0, 1, 0, 0, 1, 0, 1}, at::kFloat).view({4, 2})));
  EXPECT_TRUE(at::allclose(SelectionMatrix(4, 2, true), SelectionMatrix(4, 2, false) * 0.5));
  // 3 -> 2: the ends kept, the middle dropped; nothing to split.
  EXPECT_TRUE(at::equal(SelectionMatrix(2, 3, true),
                        at::tensor({1, 0, 0, 0, 0, 1}, at::kFloat).view({2, 3})));
  EXPECT_TRUE(at::equal(SelectionMatrix(3, 3, true), at::eye(3, at::kFloat)));
}

// Logits of the model a bank composes at `config` from `scalers` and `head`.
at::Tensor Logits(const TemplateBank& bank, const ViTConfig& config, const TensorMap& scalers,
                  const TensorMap& head, const at::Tensor& images) {
  TensorMap params = ComposeWeights(bank.templates, scalers, config, bank.geometry);
  for (const auto& [name, t] : head) params[name] = t;
  return VitForward(config, params, images);
}

TEST(ScalerInitTest, SelectDoublingTheWidthKeepsTheFunction) {
  c10::NoGradGuard no_grad;
  TemplateBank bank = TinyBank(3);
  const AuxiliaryModel& aux = bank.auxiliaries[0];
  const ViTConfig wide = TinyConfig(aux.config.depth, 2 * aux.config.width);
  at::Generator gen = MakeGenerator(3);
  const at::Tensor images = at::randn({4, 1, 28, 28}, gen);
  const at::Tensor expected = Logits(bank, aux.config, aux.scalers, aux.head, images);
  auto select = ResampleScalers(bank, wide, ScalerInit::kSelect);
  ASSERT_OK(select);
  const at::Tensor got = Logits(
      bank, wide, *select, ResampleHead(aux, wide, bank.geometry, ScalerInit::kSelect), images);
  EXPECT_TRUE(at::allclose(got, expected, 1e-3, 1e-4))
      << (got - expected).abs().max().item<float>();
  // The interpolating scheme does not keep it: the check can fail.
  auto structured = ResampleScalers(bank, wide, ScalerInit::kStructured);
  ASSERT_OK(structured);
  const at::Tensor other =
      Logits(bank, wide, *structured,
             ResampleHead(aux, wide, bank.geometry, ScalerInit::kStructured), images);
  EXPECT_FALSE(at::allclose(other, expected, 1e-3, 1e-4));
}

}  // namespace
}  // namespace wave
