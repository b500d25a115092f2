#include "core/learn/learn.h"

#include <c10/core/GradMode.h>
#include <ATen/Parallel.h>

#include "core/base/kinds.h"
#include "core/model/vit.h"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;
using testing::TinyConfig;
using testing::TinyGeometry;

TEST(SvdTemplatesTest, FullRankReproducesTheAncestryExactly) {
  ViTConfig c = TinyConfig();
  BankGeometry g = TinyGeometry();
  TensorMap ancestry = DirectInit(c, 2);
  TensorMap templates, scalers;
  SvdTemplates(ancestry, c, g, /*n=*/256, 2, &templates, &scalers);
  TensorMap composed = ComposeWeights(templates, scalers, c, g);
  for (const auto& [name, w] : composed) {
    EXPECT_TRUE(at::allclose(w, ancestry.at(name), 1e-4, 1e-5)) << name;
  }
}

TEST(SvdTemplatesTest, LowRankErrorShrinksWithMoreTemplates) {
  ViTConfig c = TinyConfig();
  BankGeometry g = TinyGeometry();
  TensorMap ancestry = DirectInit(c, 2);
  double previous = 1e30;
  for (int64_t n : {1, 4, 16}) {
    TensorMap templates, scalers;
    SvdTemplates(ancestry, c, g, n, 2, &templates, &scalers);
    TensorMap composed = ComposeWeights(templates, scalers, c, g);
    double err = (composed.at("blocks.0.mlp.fc1.weight") -
                  ancestry.at("blocks.0.mlp.fc1.weight")).norm().item<double>();
    EXPECT_LT(err, previous) << n;
    previous = err;
  }
}

class DistillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(2);
    auto train = LoadFashionMnist("train");
    ASSERT_OK(train);
    train_ = StratifiedSubset(*train, 256, 10, 1);
    test_ = StratifiedSubset(*train, 200, 10, 2);
    config_ = TinyConfig(1, 32);
    // A quickly trained ancestry.
    AncestryOptions a;
    a.config = config_;
    a.loop.epochs = 4;
    a.loop.batch = 32;
    a.loop.log_every = 0;
    a.loop.mean = {0.286};
    a.loop.std = {0.353};
    auto ancestry = TrainAncestry(a, train_, test_);
    ASSERT_OK(ancestry);
    ancestry_ = *ancestry;
  }

  DistillOptions Options(int64_t epochs) {
    DistillOptions o;
    o.geometry = TinyGeometry();
    o.auxiliaries = {config_};
    o.templates_per_kind = 2;
    o.loop.epochs = epochs;
    o.loop.batch = 32;
    o.loop.lr = 3e-3;
    o.loop.log_every = 0;
    o.loop.mean = {0.286};
    o.loop.std = {0.353};
    return o;
  }

  double LossOf(const TemplateBank& bank) {
    c10::NoGradGuard no_grad;
    TensorMap p = ComposeWeights(bank.templates, bank.auxiliaries[0].scalers, config_,
                                 bank.geometry);
    p["head.weight"] = bank.auxiliaries[0].head.at("head.weight");
    p["head.bias"] = bank.auxiliaries[0].head.at("head.bias");
    at::Tensor x = Normalize(train_.images, {0.286}, {0.353});
    return DistillLoss(VitForward(config_, p, x), VitForward(config_, ancestry_, x),
                       train_.labels, 2.0, 1.0)
        .item<double>();
  }

  Dataset train_, test_;
  ViTConfig config_;
  TensorMap ancestry_;
};

TEST_F(DistillTest, DistillationLowersTheLoss) {
  auto before = DistillTemplates(Options(0), ancestry_, config_, train_, test_);
  ASSERT_OK(before);
  auto after = DistillTemplates(Options(4), ancestry_, config_, train_, test_);
  ASSERT_OK(after);
  EXPECT_LT(LossOf(*after), 0.9 * LossOf(*before));
}

TEST_F(DistillTest, RejectsNonsenseBeforeTraining) {
  DistillOptions o = Options(1);
  o.templates_per_kind = 0;
  EXPECT_STATUS(DistillTemplates(o, ancestry_, config_, train_, test_),
                StatusCode::kInvalidArgument, "templates_per_kind");
  o = Options(1);
  o.auxiliaries[0].width = 40;
  EXPECT_STATUS(DistillTemplates(o, ancestry_, config_, train_, test_),
                StatusCode::kInvalidArgument, "width: must be a multiple of");
}

TEST(LoadAncestryTest, RejectsAWrongShapeNamingTheTensor) {
  ViTConfig c = TinyConfig();
  TensorMap params = DirectInit(c, 1);
  params["blocks.1.attn.proj.weight"] = at::zeros({32, 16});
  const std::string path = ::testing::TempDir() + "/bad_ancestry.safetensors";
  ASSERT_OK(WriteTensors(path, params, {}));
  EXPECT_STATUS(LoadAncestry(path, c), StatusCode::kInvalidArgument,
                "'blocks.1.attn.proj.weight' has shape [32, 16], expected [32, 32]");
  params = DirectInit(c, 1);
  const std::string good = ::testing::TempDir() + "/good_ancestry.safetensors";
  ASSERT_OK(WriteTensors(good, params, {}));
  auto loaded = LoadAncestry(good, c);
  ASSERT_OK(loaded);
  EXPECT_TRUE(loaded->at("pos_embed").equal(params.at("pos_embed")));
}

}  // namespace
}  // namespace wave
