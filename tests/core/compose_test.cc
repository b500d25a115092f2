#include "core/model/compose.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include "core/model/vit.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

struct Shape {
  int64_t n, a, b, p, q;
};

std::string ShapeName(const Shape& s) {
  return "n" + std::to_string(s.n) + "_a" + std::to_string(s.a) + "_b" + std::to_string(s.b) +
         "_p" + std::to_string(s.p) + "_q" + std::to_string(s.q);
}
void PrintTo(const Shape& s, std::ostream* out) { *out << ShapeName(s); }

class ComposeTest : public ::testing::TestWithParam<Shape> {};

TEST_P(ComposeTest, MatchesExplicitKroneckerSum) {
  const Shape s = GetParam();
  at::Generator gen = MakeGenerator(3);
  at::Tensor scalers = at::empty({s.n, s.a, s.b}).normal_(0, 1, gen);
  at::Tensor templates = at::empty({s.n, s.p, s.q}).normal_(0, 1, gen);
  at::Tensor fast = KroneckerSum(scalers, templates);
  at::Tensor ref = KroneckerSumReference(scalers, templates);
  ASSERT_EQ(fast.sizes(), ref.sizes());
  EXPECT_TRUE(at::allclose(fast, ref, 1e-5, 1e-5)) << (fast - ref).abs().max();
}

TEST_P(ComposeTest, GradientsMatchTheReference) {
  const Shape s = GetParam();
  at::Generator gen = MakeGenerator(4);
  at::Tensor scalers = at::empty({s.n, s.a, s.b}, at::kDouble).normal_(0, 1, gen);
  at::Tensor templates = at::empty({s.n, s.p, s.q}, at::kDouble).normal_(0, 1, gen);
  at::Tensor weight = at::empty({s.a * s.p, s.b * s.q}, at::kDouble).normal_(0, 1, gen);
  auto grads = [&](bool fast) {
    at::Tensor sc = scalers.clone().set_requires_grad(true);
    at::Tensor tp = templates.clone().set_requires_grad(true);
    at::Tensor w = fast ? KroneckerSum(sc, tp) : KroneckerSumReference(sc, tp);
    (w * weight).sum().backward();
    return std::make_pair(sc.grad(), tp.grad());
  };
  auto [gs_fast, gt_fast] = grads(true);
  auto [gs_ref, gt_ref] = grads(false);
  EXPECT_TRUE(at::allclose(gs_fast, gs_ref, 1e-10, 1e-10));
  EXPECT_TRUE(at::allclose(gt_fast, gt_ref, 1e-10, 1e-10));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ComposeTest,
                         ::testing::Values(Shape{1, 1, 1, 1, 1}, Shape{4, 3, 2, 8, 8},
                                           Shape{8, 12, 4, 32, 32}, Shape{3, 5, 1, 4, 1},
                                           Shape{2, 1, 4, 17, 8}, Shape{5, 4, 1, 8, 49},
                                           // the register-blocked tiles (16, 32): whole
                                           // groups of segments (4 of 16, 2 of 32) and
                                           // the segments left over
                                           Shape{16, 6, 3, 16, 16}, Shape{16, 2, 5, 7, 32},
                                           Shape{4, 3, 9, 5, 16}, Shape{3, 2, 8, 4, 32}),
                         [](const auto& info) { return ShapeName(info.param); });

TEST(ComposeGradTest, FiniteDifferencesAgreeWithBackward) {
  at::Generator gen = MakeGenerator(5);
  at::Tensor scalers = at::empty({3, 2, 3}, at::kDouble).normal_(0, 1, gen);
  at::Tensor templates = at::empty({3, 4, 2}, at::kDouble).normal_(0, 1, gen);
  at::Tensor weight = at::empty({8, 6}, at::kDouble).normal_(0, 1, gen);
  auto loss = [&](const at::Tensor& s, const at::Tensor& t) {
    return (KroneckerSum(s, t).pow(2) * weight).sum();
  };
  at::Tensor s = scalers.clone().set_requires_grad(true);
  at::Tensor t = templates.clone().set_requires_grad(true);
  loss(s, t).backward();
  const double eps = 1e-6;
  for (auto [param, grad, is_scaler] :
       {std::tuple{scalers, s.grad(), true}, std::tuple{templates, t.grad(), false}}) {
    at::Tensor flat = param.view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      at::Tensor plus = param.clone(), minus = param.clone();
      plus.view(-1)[i] += eps;
      minus.view(-1)[i] -= eps;
      double numeric = is_scaler ? (loss(plus, templates) - loss(minus, templates)).item<double>()
                                 : (loss(scalers, plus) - loss(scalers, minus)).item<double>();
      numeric /= 2 * eps;
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), numeric, 1e-5) << "index " << i;
    }
  }
}

TEST(ComposeGradTest, FallbackPathAgreesWithFastPath) {
  // Half precision takes the GEMM + permute path.
  at::Generator gen = MakeGenerator(6);
  at::Tensor scalers = at::empty({4, 3, 2}).normal_(0, 1, gen);
  at::Tensor templates = at::empty({4, 8, 8}).normal_(0, 1, gen);
  at::Tensor fast = KroneckerSum(scalers, templates);
  at::Tensor slow = KroneckerSum(scalers.to(at::kBFloat16), templates.to(at::kBFloat16));
  EXPECT_TRUE(at::allclose(fast, slow.to(at::kFloat), 0.1, 0.1));
}

}  // namespace
}  // namespace wave
