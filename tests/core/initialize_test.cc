#include "core/init/initialize.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/bank/scaler_init.h"
#include "core/base/kinds.h"
#include "core/base/safetensors.h"
#include "core/init/weights_file.h"
#include "core/model/tensor_io.h"
#include "core/model/train_loop.h"
#include "core/model/vit.h"
#include "nlohmann/json.hpp"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;
using testing::TinyBank;
using testing::TinyConfig;

// The names of the weights whose values differ between `a` and `b`, sorted.
std::vector<std::string> ChangedWeights(const TensorMap& a, const TensorMap& b) {
  std::vector<std::string> changed;
  for (const auto& [name, w] : a) {
    if (!w.equal(b.at(name))) changed.push_back(name);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

class InitializeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    auto train = LoadFashionMnist("t10k");
    ASSERT_OK(train);
    data_ = StratifiedSubset(*train, 300, 10, 5);
    bank_ = TinyBank(4);
  }
  FitOptions Options(int64_t steps) {
    FitOptions o;
    o.steps = steps;
    o.batch = 32;
    o.lr = 1e-2;
    o.head_lr = 1e-2;
    o.held_out = 50;
    return o;
  }
  Dataset data_;
  TemplateBank bank_;
};

TEST_F(InitializeTest, FittingLowersTheLoss) {
  ViTConfig target = TinyConfig(3, 48);
  auto r = InitializeTarget(bank_, target, data_, Options(40));
  ASSERT_OK(r);
  const auto& steps = r->report.steps;
  ASSERT_EQ(steps.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += steps[i].loss, last += steps[steps.size() - 1 - i].loss;
  EXPECT_LT(last, 0.8 * first);
  EXPECT_EQ(r->report.held_out, 50);
  // The reported accuracy is the returned weights' on the held-out samples.
  auto measured = HeldOutAccuracy(target, r->weights, r->held_out, bank_.geometry);
  ASSERT_OK(measured);
  EXPECT_DOUBLE_EQ(r->report.held_out_accuracy, *measured);
  EXPECT_LT(r->report.trainable_params * 4, r->report.model_params);
}

TEST(ScalerStepsTest, APassBudgetCapsTheStepsByTheSamples) {
  FitOptions o;
  o.steps = 400;
  o.batch = 64;
  EXPECT_EQ(ScalerSteps(o, 900), 400);  // no budget
  o.max_passes = 3;
  EXPECT_EQ(ScalerSteps(o, 900), 43);   // ceil(3 * 900 / 64)
  EXPECT_EQ(ScalerSteps(o, 450), 22);   // half the samples, half the steps
  EXPECT_EQ(ScalerSteps(o, 20), 3);     // the batch is at most the samples
  o.max_passes = 1000;
  EXPECT_EQ(ScalerSteps(o, 900), 400);  // the budget never adds steps
  o.max_passes = -1;
  EXPECT_STATUS(ValidateFitOptions(o), absl::StatusCode::kInvalidArgument,
                "fit.max_passes: must be >= 0 and finite, got -1");
}

TEST_F(InitializeTest, AFitWithAPassBudgetRunsTheStepsItAllows) {
  ViTConfig target = TinyConfig(2, 32);
  FitOptions o = Options(400);
  o.max_passes = 2;  // 250 fit samples (300 - 50 held out), batch 32: 16 steps
  auto r = InitializeTarget(bank_, target, data_, o);
  ASSERT_OK(r);
  EXPECT_EQ(r->report.steps_run, 16);
  EXPECT_EQ(r->report.steps.back().total, 16);
}

TEST(ScalerStepsTest, AStepThroughPartOfTheModelCostsThatShareOfAPass) {
  FitOptions o;
  o.steps = 2000;
  o.batch = 8;
  o.max_passes = 3;
  EXPECT_EQ(ScalerSteps(o, 900), 338);             // ceil(3 * 900 / 8)
  EXPECT_EQ(ScalerSteps(o, 900, 1.0 / 3), 1013);   // one block of three: ceil(3 * 900 * 3 / 8)
  ViTConfig target;
  target.depth = 9;
  EXPECT_EQ(TrainedBlocks(o, target), 9);  // 0: every block
  o.tail_blocks = 2;
  EXPECT_EQ(TrainedBlocks(o, target), 2);
  o.tail_blocks = 12;
  EXPECT_EQ(TrainedBlocks(o, target), 9);  // the depth or more: every block
  o.tail_blocks = -1;
  EXPECT_STATUS(ValidateFitOptions(o), absl::StatusCode::kInvalidArgument,
                "fit.tail_blocks: must be >= 0 (0: every block), got -1");
}

TEST(KeptTokensTest, AFitOfTheLastBlocksKeepsBoundedTokens) {
  ViTConfig target;
  target.depth = 12;
  target.width = 768;  // 17 tokens: 52,224 bytes a sample
  FitOptions o;
  EXPECT_OK(CheckKeptTokens(o, target, 1000000));  // every block: nothing kept
  o.tail_blocks = 2;
  EXPECT_OK(CheckKeptTokens(o, target, 20000));
  EXPECT_STATUS(CheckKeptTokens(o, target, 50000), absl::StatusCode::kFailedPrecondition,
                "fit.tail_blocks: the tokens kept for 50000 samples would take 2611200000 "
                "bytes, over the 2147483648 a fit may keep; send at most 41120 samples, or "
                "leave tail_blocks unset");
}

// A fit of the last blocks trains their scalers, the final norm's and the
// head, leaves every other scaler as it started, fits the task, and counts
// the frozen blocks' one forward pass over the fit and held-out samples.
TEST_F(InitializeTest, ATailFitTrainsOnlyTheLastBlocks) {
  ViTConfig target = TinyConfig(3, 48);
  FitOptions none = Options(0);
  auto start = InitializeTarget(bank_, target, data_, none);
  ASSERT_OK(start);
  FitOptions tail = Options(60);
  tail.tail_blocks = 1;
  tail.eval_every = 10;
  auto r = InitializeTarget(bank_, target, data_, tail);
  ASSERT_OK(r);
  EXPECT_EQ(r->report.trained_blocks, 1);
  EXPECT_EQ(r->report.token_passes, 300);  // 250 fit + 50 held out, once
  for (const auto& p : TemplatedParams(target, bank_.geometry)) {
    const bool same = r->scalers.at(p.name).equal(start->scalers.at(p.name));
    if (!IsAfterBlock(p, 2)) {
      EXPECT_TRUE(same) << p.name << " is before the trained block and changed";
    }
  }
  for (const char* name : {"blocks.2.attn.qkv.weight", "blocks.2.mlp.fc1.weight",
                           "blocks.2.mlp.fc2.weight", "blocks.2.norm1.weight", "norm.weight"}) {
    EXPECT_FALSE(r->scalers.at(name).equal(start->scalers.at(name))) << name << " was not trained";
  }
  const auto& steps = r->report.steps;
  ASSERT_GE(steps.size(), 20u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += steps[i].loss, last += steps[steps.size() - 1 - i].loss;
  EXPECT_LT(last, 0.9 * first);
  // The early stopping measurements on the kept tokens agree with the
  // returned weights' own accuracy on the held-out images.
  auto measured = HeldOutAccuracy(target, r->weights, r->held_out, bank_.geometry);
  ASSERT_OK(measured);
  EXPECT_DOUBLE_EQ(r->report.held_out_accuracy, *measured);
  auto before = HeldOutAccuracy(target, start->weights, r->held_out, bank_.geometry);
  ASSERT_OK(before);
  EXPECT_GT(r->report.held_out_accuracy, *before + 5);

  FitOptions every = Options(60);
  every.eval_every = 10;
  auto whole = InitializeTarget(bank_, target, data_, every);
  ASSERT_OK(whole);
  EXPECT_EQ(whole->report.trained_blocks, 3);
  EXPECT_EQ(whole->report.token_passes, 0);
}

TEST_F(InitializeTest, EarlyStoppingReturnsTheBestMeasuredStep) {
  ViTConfig target = TinyConfig(3, 48);
  FitOptions plain = Options(30);
  plain.lr = plain.head_lr = 0.3;  // large enough that the held-out accuracy wanders
  auto last = InitializeTarget(bank_, target, data_, plain);
  ASSERT_OK(last);
  EXPECT_EQ(last->report.steps_run, 30);
  EXPECT_EQ(last->report.best_step, 30);  // without early stopping: the last step

  FitOptions every_step = plain;
  every_step.eval_every = 1;
  auto best = InitializeTarget(bank_, target, data_, every_step);
  ASSERT_OK(best);
  EXPECT_EQ(best->report.steps_run, 30);  // no patience: every step runs
  // The last step is among the candidates, so the best is at least as good;
  // the accuracy reported is measured on the weights returned.
  EXPECT_GE(best->report.held_out_accuracy, last->report.held_out_accuracy);
  // The rate makes the accuracy wander, so the best step is not the last.
  EXPECT_LT(best->report.best_step, 30);
  auto again = HeldOutAccuracy(target, best->weights, best->held_out, bank_.geometry);
  ASSERT_OK(again);
  EXPECT_DOUBLE_EQ(*again, best->report.held_out_accuracy);
  if (best->report.best_step < 30) {
    EXPECT_FALSE(best->weights.at("head.weight").equal(last->weights.at("head.weight")));
  }

  FitOptions patient = every_step;
  patient.eval_every = 2;
  patient.patience = 2;
  auto stopped = InitializeTarget(bank_, target, data_, patient);
  ASSERT_OK(stopped);
  const FitReport& r = stopped->report;
  // It stops exactly `patience` measurements after the best one, or runs out.
  EXPECT_TRUE(r.steps_run == 30 || r.steps_run == r.best_step + 2 * 2)
      << "steps_run " << r.steps_run << " best_step " << r.best_step;
  EXPECT_EQ(r.steps.size(), static_cast<size_t>(r.steps_run));
}

// Head steps train the head alone on features computed once: the body is
// the scaler initialization's, and the head fits the task better than the
// untrained one.
TEST_F(InitializeTest, HeadStepsFitTheHeadAloneOnTheInitializedBody) {
  ViTConfig target = TinyConfig(3, 48);
  FitOptions none = Options(0);
  auto start = InitializeTarget(bank_, target, data_, none);
  ASSERT_OK(start);
  FitOptions head_only = none;
  head_only.head_steps = 60;
  auto fitted = InitializeTarget(bank_, target, data_, head_only);
  ASSERT_OK(fitted);
  EXPECT_THAT(ChangedWeights(start->weights, fitted->weights),
              ::testing::ElementsAre("head.bias", "head.weight"));
  EXPECT_EQ(fitted->report.feature_passes, 300 - 50);  // the fit samples, once
  EXPECT_EQ(fitted->report.steps_run, 0);
  EXPECT_EQ(fitted->report.held_out, 50);
  EXPECT_GT(fitted->report.held_out_accuracy, 10.0 + 10.0);  // well above chance
  // Then scaler steps continue from the fitted head.
  FitOptions both = head_only;
  both.steps = 5;
  auto continued = InitializeTarget(bank_, target, data_, both);
  ASSERT_OK(continued);
  EXPECT_EQ(continued->report.steps_run, 5);
  both.head_steps = -1;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, both), StatusCode::kInvalidArgument,
                "fit.head_steps");
}

TEST_F(InitializeTest, AHeadRefitChangesOnlyTheHeadAndKeepsItOnlyWhereHeldOutAccuracyHolds) {
  ViTConfig target = TinyConfig(3, 48);
  const FitOptions steps = Options(5);
  auto plain = InitializeTarget(bank_, target, data_, steps);
  ASSERT_OK(plain);
  FitOptions refit = steps;
  refit.head_refit_steps = 100;
  auto r = InitializeTarget(bank_, target, data_, refit);
  ASSERT_OK(r);
  EXPECT_EQ(r->report.feature_passes, 300);  // 250 fit + 50 held out, once
  // Five steps leave the head far from fitted: the refit is kept, only the
  // head differs, and it does not lose held-out accuracy (measured on the
  // returned weights).
  EXPECT_TRUE(r->report.head_refit_kept);
  EXPECT_THAT(ChangedWeights(plain->weights, r->weights),
              ::testing::ElementsAre("head.bias", "head.weight"));
  EXPECT_GE(r->report.held_out_accuracy, plain->report.held_out_accuracy);
  // Ten full-batch steps at a high rate from a head forty steps have fitted
  // lose held-out accuracy: the fit's own head is returned.
  FitOptions fitted = Options(40);
  fitted.head_lr = 0.1;
  auto fitted_plain = InitializeTarget(bank_, target, data_, fitted);
  ASSERT_OK(fitted_plain);
  FitOptions short_refit = fitted;
  short_refit.head_refit_steps = 10;
  auto dropped = InitializeTarget(bank_, target, data_, short_refit);
  ASSERT_OK(dropped);
  EXPECT_FALSE(dropped->report.head_refit_kept);
  EXPECT_THAT(ChangedWeights(fitted_plain->weights, dropped->weights), ::testing::IsEmpty());
  refit.head_refit_steps = -1;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, refit), StatusCode::kInvalidArgument,
                "fit.head_refit_steps");
}

TEST_F(InitializeTest, EarlyStoppingNeedsHeldOutSamplesAndSaneSettings) {
  ViTConfig target = TinyConfig(3, 48);
  FitOptions o = Options(10);
  o.held_out = 0;
  o.eval_every = 1;
  o.patience = 1;
  auto r = InitializeTarget(bank_, target, data_, o);
  ASSERT_OK(r);
  EXPECT_EQ(r->report.steps_run, 10);  // nothing to measure on: the fit runs out
  o.eval_every = -1;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, o), StatusCode::kInvalidArgument,
                "fit.eval_every");
  o.eval_every = 1;
  o.patience = -2;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, o), StatusCode::kInvalidArgument,
                "fit.patience");
}

TEST_F(InitializeTest, ReturnedWeightsReproduceTheFittedLogits) {
  ViTConfig target = TinyConfig(3, 48);
  auto r = InitializeTarget(bank_, target, data_, Options(5));
  ASSERT_OK(r);
  ASSERT_OK(ValidateParams(target, r->weights));
  // Recompose from the returned scalers: the same weights.
  TensorMap again = ComposeWeights(bank_.templates, r->scalers, target, bank_.geometry);
  for (const auto& [name, w] : again) EXPECT_TRUE(w.equal(r->weights.at(name))) << name;
  // Held-out accuracy is reproducible from the returned file's weights.
  at::Tensor x = Normalize(data_.images.slice(0, 0, 8), {0.286}, {0.353});
  at::Tensor a = VitForward(target, r->weights, x);
  EXPECT_TRUE(a.isfinite().all().item<bool>());
}

TEST_F(InitializeTest, SameSeedSameBytes) {
  ViTConfig target = TinyConfig(2, 64);
  auto a = InitializeTarget(bank_, target, data_, Options(6));
  auto b = InitializeTarget(bank_, target, data_, Options(6));
  ASSERT_OK(a);
  ASSERT_OK(b);
  for (const auto& [name, w] : a->weights) EXPECT_TRUE(w.equal(b->weights.at(name))) << name;
  FitOptions other = Options(6);
  other.seed = 99;
  auto c = InitializeTarget(bank_, target, data_, other);
  ASSERT_OK(c);
  EXPECT_FALSE(c->weights.at("head.weight").equal(a->weights.at("head.weight")));
}

// bf16 changes only the forward passes' arithmetic: the fit learns as in
// f32, returns float32 weights, and says what it ran at. Where the CPU lacks
// bf16 it runs f32, the same bytes as asked for f32, and says why.
TEST_F(InitializeTest, ABf16FitLearnsAsF32DoesAndSaysWhatRan) {
  ViTConfig target = TinyConfig(3, 48);
  FitOptions o = Options(40);
  auto f32 = InitializeTarget(bank_, target, data_, o);
  o.precision = Precision::kBFloat16;
  auto bf16 = InitializeTarget(bank_, target, data_, o);
  ASSERT_OK(f32);
  ASSERT_OK(bf16);
  EXPECT_EQ(f32->report.precision, Precision::kFloat32);
  EXPECT_EQ(f32->report.precision_note, "");
  std::string note;
  const Precision ran = EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), &note);
  EXPECT_EQ(bf16->report.precision, ran);
  EXPECT_EQ(bf16->report.precision_note, note);
  for (const auto& [name, w] : bf16->weights) EXPECT_EQ(w.scalar_type(), at::kFloat) << name;
  const at::Tensor head_f32 = f32->weights.at("head.weight");
  const at::Tensor head_bf16 = bf16->weights.at("head.weight");
  if (ran == Precision::kBFloat16) {
    EXPECT_FALSE(head_bf16.equal(head_f32)) << "the fit did not run in bf16";
  } else {
    EXPECT_TRUE(head_bf16.equal(head_f32));
  }
  // Both learned: the loss fell as far (40 steps, batch 32).
  auto tail_loss = [](const InitResult& r) {
    double sum = 0;
    for (size_t i = r.report.steps.size() - 5; i < r.report.steps.size(); ++i) {
      sum += r.report.steps[i].loss;
    }
    return sum / 5;
  };
  EXPECT_NEAR(tail_loss(*bf16), tail_loss(*f32), 0.1 * tail_loss(*f32) + 0.05);
  EXPECT_NEAR(bf16->report.held_out_accuracy, f32->report.held_out_accuracy, 10.0);
}

TEST_F(InitializeTest, ZeroStepsNeedsNoData) {
  auto r = InitializeTarget(bank_, TinyConfig(4, 32), Dataset{}, Options(0));
  ASSERT_OK(r);
  EXPECT_TRUE(r->report.steps.empty());
  EXPECT_EQ(r->report.held_out_accuracy, -1);
}

TEST_F(InitializeTest, CheckStopsTheFitWithItsStatus) {
  int calls = 0;
  auto r = InitializeTarget(bank_, TinyConfig(), data_, Options(50), nullptr, [&] {
    return ++calls > 3 ? absl::CancelledError("client cancelled") : absl::OkStatus();
  });
  EXPECT_STATUS(r, StatusCode::kCancelled, "client cancelled");
  EXPECT_EQ(calls, 4);
}

TEST_F(InitializeTest, RejectsBadInput) {
  const ViTConfig target = TinyConfig();
  Dataset d = data_;
  d.labels = d.labels.clone();
  d.labels[3] = 10;
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "labels: values must be in [0, 10), found 10");
  d = data_;
  d.labels = d.labels.slice(0, 0, 10);
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "labels: 10 labels for 300 images");
  d = data_;
  d.images = Normalize(d.images, {0.0}, {1.0});
  d.images[0][0][0][0] = NAN;
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "images: contain NaN or infinite");
  d = data_;
  d.images = d.images.slice(2, 0, 20);
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "images: shape [300, 1, 20, 28] is not [N, 1, 28, 28]");
  d = data_;
  d.images = at::zeros({300, 3, 28, 28}, at::kByte);
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "images: shape [300, 3, 28, 28]");
  EXPECT_STATUS(InitializeTarget(bank_, TinyConfig(2, 40), data_, Options(1)),
                StatusCode::kInvalidArgument, "width: must be a multiple of");
  d = data_;
  d.labels = at::zeros({0}, at::kLong);
  d.images = at::zeros({0, 1, 28, 28}, at::kByte);
  EXPECT_STATUS(InitializeTarget(bank_, target, d, Options(1)), StatusCode::kInvalidArgument,
                "images: no samples");
  FitOptions bad = Options(1);
  bad.lr = -1;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, bad), StatusCode::kInvalidArgument,
                "fit.lr");
  bad = Options(1);
  bad.distill_weight = NAN;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, bad), StatusCode::kInvalidArgument,
                "fit.distill_weight: must be >= 0 and finite");
  bad = Options(1);
  bad.distill_temperature = 0;
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, bad), StatusCode::kInvalidArgument,
                "fit.distill_temperature: must be positive");
  bad = Options(1);
  bad.teacher = [](const at::Tensor& x) { return at::zeros({x.size(0), 7}); };
  EXPECT_STATUS(InitializeTarget(bank_, target, data_, bad), StatusCode::kFailedPrecondition,
                "fit.teacher: gives logits of shape [250, 7], not [250, 10]");
}

// A teacher that always says class 0 pulls the fitted model towards class 0;
// without it (or with weight 0) the labels, spread over ten classes, win.
TEST_F(InitializeTest, DistillationPullsTheFitTowardsTheTeacher) {
  const ViTConfig target = TinyConfig(2, 48);
  auto always_zero = [](const at::Tensor& x) {
    at::Tensor logits = at::zeros({x.size(0), 10});
    logits.select(1, 0).fill_(8.0);
    return logits;
  };
  auto share_of_class_zero = [&](const FitOptions& o) {
    auto r = InitializeTarget(bank_, target, data_, o);
    EXPECT_OK(r);
    if (!r.ok()) return -1.0;
    at::Tensor x = Normalize(data_.images, bank_.geometry.mean, bank_.geometry.std);
    return VitForward(target, r->weights, x).argmax(1).eq(0).to(at::kFloat).mean().item<double>();
  };
  FitOptions labels_only = Options(30);
  FitOptions distilled = Options(30);
  distilled.teacher = always_zero;
  distilled.distill_weight = 5.0;
  FitOptions weight_zero = distilled;
  weight_zero.distill_weight = 0;
  const double plain = share_of_class_zero(labels_only);
  EXPECT_LT(plain, 0.5);
  EXPECT_GT(share_of_class_zero(distilled), 0.9);
  EXPECT_EQ(share_of_class_zero(weight_zero), plain);
}

TEST(ScalerInitTest, AtTheAuxiliarySizeBothSchemesGiveTheAuxiliary) {
  TemplateBank bank = TinyBank(4);
  for (ScalerInit scheme : {ScalerInit::kStructured, ScalerInit::kNaive}) {
    auto s = ResampleScalers(bank, bank.ancestry, scheme);
    ASSERT_OK(s);
    for (const auto& [name, t] : bank.auxiliaries[0].scalers) {
      EXPECT_TRUE(at::allclose(s->at(name), t)) << name;
    }
  }
}

TEST(ScalerInitTest, StructuredKeepsQueryKeyValueApart) {
  // Aux 2x32 (2 heads). Target 2x64 (4 heads): q rows of the target must
  // come only from q rows of the source.
  TemplateBank bank = TinyBank(4);
  AuxiliaryModel& aux = bank.auxiliaries[0];
  at::Tensor& qkv = aux.scalers.at("blocks.0.attn.qkv.weight");  // [4, 6, 2]
  qkv.zero_();
  qkv.slice(1, 0, 2).fill_(1.0);  // q rows only
  auto s = ResampleScalers(bank, TinyConfig(2, 64), ScalerInit::kStructured);
  ASSERT_OK(s);
  at::Tensor out = s->at("blocks.0.attn.qkv.weight");  // [4, 12, 4]
  EXPECT_GT(out.slice(1, 0, 4).abs().min().item<double>(), 0.1);
  EXPECT_EQ(out.slice(1, 4, 12).abs().max().item<double>(), 0.0);
  // The naive scheme blends across the q/k boundary.
  auto naive = ResampleScalers(bank, TinyConfig(2, 64), ScalerInit::kNaive);
  ASSERT_OK(naive);
  EXPECT_GT(naive->at("blocks.0.attn.qkv.weight").slice(1, 4, 12).abs().max().item<double>(),
            0.0);
}

TEST(ScalerInitTest, InterpolationMatrixKeepsEndPointsAndRowsSumToOne) {
  at::Tensor r = InterpolationMatrix(5, 3);
  EXPECT_FLOAT_EQ(r[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(r[4][2].item<float>(), 1.0f);
  EXPECT_TRUE(at::allclose(r.sum(1), at::ones({5})));
  EXPECT_STATUS(ParseScalerInit("cubic"), StatusCode::kInvalidArgument, "scaler_init");
}

TEST_F(InitializeTest, HeldOutAccuracyDescribesTheReturnedWeights) {
  ViTConfig target = TinyConfig(3, 48);
  auto r = InitializeTarget(bank_, target, data_, Options(10));
  ASSERT_OK(r);
  ASSERT_EQ(r->held_out.size(), 50);
  const double direct = Accuracy([&](const at::Tensor& x) { return VitForward(target, r->weights, x); },
                                 r->held_out, bank_.geometry.mean, bank_.geometry.std);
  EXPECT_DOUBLE_EQ(r->report.held_out_accuracy, direct);
}

TEST_F(InitializeTest, InHalfPrecisionTheAccuracyIsMeasuredOnTheBytesReturned) {
  ViTConfig target = TinyConfig(3, 48);
  auto r = InitializeTarget(bank_, target, data_, Options(10));
  ASSERT_OK(r);
  WeightsFileInfo info;
  info.geometry = bank_.geometry;
  auto file = MakeWeightsFile(r->weights, r->report, r->held_out, target, Options(10), info,
                              at::kHalf);
  ASSERT_OK(file);
  // Read the file back as a client would and measure the same samples.
  auto parsed = SafetensorsFile::Parse(file->file->writer.Serialize());
  ASSERT_OK(parsed);
  auto tensors = ReadTensors(*parsed);
  ASSERT_OK(tensors);
  TensorMap as_float;
  for (const auto& [name, t] : *tensors) {
    EXPECT_EQ(t.scalar_type(), at::kHalf) << name;
    as_float[name] = t.to(at::kFloat);
  }
  const double measured = Accuracy([&](const at::Tensor& x) { return VitForward(target, as_float, x); },
                                   r->held_out, bank_.geometry.mean, bank_.geometry.std);
  EXPECT_DOUBLE_EQ(file->held_out_accuracy, measured);
  EXPECT_DOUBLE_EQ(
      nlohmann::json::parse(parsed->metadata().at("wave.fit"))["held_out_accuracy"].get<double>(),
      measured);
}

TEST_F(InitializeTest, WeightsThatOverflowTheOutputTypeAreRefused) {
  ViTConfig target = TinyConfig(2, 32);
  auto r = InitializeTarget(bank_, target, data_, Options(0));
  ASSERT_OK(r);
  r->weights["head.bias"][0] = 1e6;  // finite in float32, infinite in float16
  WeightsFileInfo info;
  info.geometry = bank_.geometry;
  EXPECT_STATUS(MakeWeightsFile(r->weights, r->report, r->held_out, target, Options(0), info,
                                at::kHalf),
                StatusCode::kInvalidArgument, "output.dtype: head.bias does not fit in Half");
}

TEST_F(InitializeTest, AFitThatDivergesIsAnErrorNotWeights) {
  FitOptions o = Options(1);
  o.lr = 1e37;  // the server refuses past 1; core takes any finite rate
  o.head_lr = 1e37;
  EXPECT_STATUS(InitializeTarget(bank_, TinyConfig(2, 32), data_, o),
                StatusCode::kInvalidArgument, "fit diverged");
}

TEST_F(InitializeTest, HeldOutMustLeaveSamplesToFitOn) {
  Dataset four = StratifiedSubset(data_, 4, 10, 1);
  FitOptions o = Options(1);
  o.held_out = 3;
  EXPECT_STATUS(InitializeTarget(bank_, TinyConfig(2, 32), four, o), StatusCode::kInvalidArgument,
                "fit.held_out: 3 of 4 samples leaves fewer than 2 to fit on");
  o.held_out = -2;
  EXPECT_STATUS(InitializeTarget(bank_, TinyConfig(2, 32), four, o), StatusCode::kInvalidArgument,
                "fit.held_out: must be >= 0");
}

TEST_F(InitializeTest, FloatImagesMustLookNormalized) {
  Dataset d{at::full({4, 1, 28, 28}, 2000.0f), at::zeros({4}, at::kLong)};
  EXPECT_STATUS(ValidateFewShot(d, TinyConfig(2, 32)), StatusCode::kInvalidArgument,
                "must lie within +-1000; found 2000");
  d.images.fill_(-999.0f);
  EXPECT_OK(ValidateFewShot(d, TinyConfig(2, 32)));
}

TEST(AllFiniteTest, SeesNaNAndInfinityAnywhere) {
  at::Tensor t = at::full({3, 1000}, 3e38f);
  EXPECT_TRUE(AllFinite(t));  // float32's largest values, whose sum would overflow it
  t[2][999] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(AllFinite(t));
  t[2][999] = -std::numeric_limits<float>::infinity();
  EXPECT_FALSE(AllFinite(t));
  t[2][999] = std::nanf("");
  EXPECT_FALSE(AllFinite(t));
  EXPECT_TRUE(AllFinite(at::zeros({0})));
  // The output dtypes too: float16's largest finite value, then past it.
  at::Tensor half = at::full({4}, 65504.0, at::kHalf);
  EXPECT_TRUE(AllFinite(half));
  half[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(AllFinite(half));
  EXPECT_FALSE(AllFinite(at::full({4}, std::nanf(""), at::kBFloat16)));
}

}  // namespace
}  // namespace wave
