// The one optimizer-and-schedule helper and the training loop around it.
#include "core/model/train_loop.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/optim/optimizer.h>
#include <unistd.h>

#include <cmath>

#include "core/base/file_util.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

TEST(ScheduledLrTest, WarmsUpLinearlyThenDecaysByCosineToTheFloor) {
  EXPECT_DOUBLE_EQ(ScheduledLr(0, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(ScheduledLr(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(ScheduledLr(10, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(ScheduledLr(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // half way: the mean
  EXPECT_DOUBLE_EQ(ScheduledLr(100, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(ScheduledLr(500, 100, 10, 1.0, 0.1), 0.1);  // past the end: the floor
  // The few-shot fit's schedule: no warm-up, down to zero, cos(pi s / n) rounded as before.
  for (int64_t s : {0, 1, 7, 49}) {
    EXPECT_EQ(ScheduledLr(s, 50, 0, 2e-3, 0.0), 2e-3 * (0.5 * (1 + std::cos(M_PI * s / 50.0))));
  }
}

TEST(ScheduledAdamWTest, EachGroupFollowsTheScheduleFromItsOwnRate) {
  at::Tensor a = at::ones({3}).set_requires_grad(true);
  at::Tensor b = at::ones({2}).set_requires_grad(true);
  ScheduledAdamW optimizer({{{a}, 0.1, 0}, {{b}, 0.01, 0}}, {10, 0, 0.0});
  const double first = optimizer.Step(0, (a * a).sum() + (b * b).sum());
  EXPECT_DOUBLE_EQ(first, 0.1);
  const auto& groups = optimizer.optimizer().param_groups();
  EXPECT_DOUBLE_EQ(groups[1].options().get_lr(), 0.01);
  optimizer.Step(5, (a * a).sum() + (b * b).sum());
  EXPECT_NEAR(groups[0].options().get_lr(), 0.05, 1e-12);
  EXPECT_NEAR(groups[1].options().get_lr(), 0.005, 1e-12);
  // AdamW's first steps move each parameter by about its rate.
  EXPECT_NEAR(a[0].item<double>(), 1 - 0.1 - 0.05, 0.01);
  EXPECT_NEAR(b[0].item<double>(), 1 - 0.01 - 0.005, 0.001);
}

// 64 images of side x side in two classes a linear model tells apart (dark
// class 0, bright class 1), and the options that train one on them in three
// epochs of four steps.
Dataset TwoBrightnessClasses(int64_t side) {
  Dataset data{at::randint(0, 255, {64, 1, side, side}, at::kByte), at::zeros({64}, at::kLong)};
  data.labels.slice(0, 32).fill_(1);
  data.images.slice(0, 32).fill_(200);
  data.images.slice(0, 0, 32).fill_(10);
  return data;
}

TrainLoopOptions ThreeShortEpochs() {
  TrainLoopOptions o;
  o.epochs = 3;
  o.batch = 16;
  o.lr = 0.1;
  o.weight_decay = 0;
  return o;
}

TEST(TrainLoopTest, FitsAndReportsThroughTheCallbackOnly) {
  at::set_num_threads(1);
  const Dataset data = TwoBrightnessClasses(2);
  at::Tensor w = at::zeros({2, 4}).set_requires_grad(true);
  TrainLoopOptions o = ThreeShortEpochs();
  o.log_every = 1;
  std::vector<std::string> lines;
  o.log = [&](const std::string& line) { lines.push_back(line); };
  std::vector<double> losses;
  ASSERT_OK(TrainLoop(
      {w}, data,
      [&](const at::Tensor& x, const at::Tensor& y) {
        return at::cross_entropy_loss(at::matmul(x.flatten(1), w.t()), y);
      },
      o,
      [&](int64_t, double loss, torch::optim::Optimizer&) {
        losses.push_back(loss);
        return absl::OkStatus();
      }));
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
  ASSERT_EQ(lines.size(), 12u);  // 4 steps x 3 epochs
  EXPECT_EQ(lines.front().rfind("[train] epoch 1/3 step 1/4 loss ", 0), 0u) << lines.front();
}

// Under bf16 the loss's forward pass runs in bfloat16 where the CPU has it;
// the parameters stay float32 and training still lowers the loss.
TEST(TrainLoopTest, ABf16ForwardTrainsFloat32Parameters) {
  at::set_num_threads(1);
  const Dataset data = TwoBrightnessClasses(4);
  at::Tensor w = at::zeros({2, 16}).set_requires_grad(true);
  TrainLoopOptions o = ThreeShortEpochs();
  o.precision = EffectivePrecision(Precision::kBFloat16, at::Device(at::kCPU), nullptr);
  std::vector<double> losses;
  at::ScalarType logits_type = at::kFloat;
  ASSERT_OK(TrainLoop(
      {w}, data,
      [&](const at::Tensor& x, const at::Tensor& y) {
        at::Tensor logits = at::linear(x.flatten(1), w);
        logits_type = logits.scalar_type();
        return at::cross_entropy_loss(logits.to(at::kFloat), y);
      },
      o,
      [&](int64_t, double loss, torch::optim::Optimizer&) {
        losses.push_back(loss);
        return absl::OkStatus();
      }));
  EXPECT_EQ(logits_type,
            o.precision == Precision::kBFloat16 ? at::kBFloat16 : at::kFloat);
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_FALSE(at::autocast::is_cpu_enabled());  // the scope ended with the step
}

TEST(TrainLoopTest, SavesTheOptimizerAtomically) {
  at::Tensor w = at::zeros({2}).set_requires_grad(true);
  ScheduledAdamW optimizer({{{w}, 0.1, 0}}, {1, 0, 0.0});
  optimizer.Step(0, (w - 1).pow(2).sum());
  const std::string path = ::testing::TempDir() + "/optim." + std::to_string(getpid()) + ".pt";
  ASSERT_OK(SaveOptimizer(optimizer.optimizer(), path));
  auto bytes = ReadFileToString(path);
  ASSERT_OK(bytes);
  EXPECT_GT(bytes->size(), 100u);
  EXPECT_STATUS(SaveOptimizer(optimizer.optimizer(), "/nonexistent-dir/optim.pt"),
                absl::StatusCode::kPermissionDenied, "cannot create");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace wave
