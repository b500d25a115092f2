#include "core/model/attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/model/precision.h"
#include "core/model/vit.h"

namespace wave {
namespace {

struct Inputs {
  at::Tensor q, k, v;
};

Inputs Random(int64_t n, int64_t t, int64_t dh, at::ScalarType dtype, uint64_t seed) {
  at::Generator gen = MakeGenerator(seed);
  auto draw = [&] {
    return at::empty({n, t, dh}, at::kDouble).normal_(0, 1, gen).to(dtype).requires_grad_(true);
  };
  Inputs in;
  in.q = draw();
  in.k = draw();
  in.v = draw();
  return in;
}

// The fused kernel against LibTorch's matmul and softmax: the output and the
// gradients of q, k and v under one random upstream gradient.
void ExpectSameAsMatmul(int64_t n, int64_t t, int64_t dh, at::ScalarType dtype, double tolerance) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  Inputs fused = Random(n, t, dh, dtype, 7), ref = Random(n, t, dh, dtype, 7);
  ASSERT_TRUE(UsesFusedAttention(fused.q));
  at::Tensor out = Attention(fused.q, fused.k, fused.v, scale);
  at::Tensor expected = AttentionByMatmul(ref.q, ref.k, ref.v, scale);
  EXPECT_TRUE(at::allclose(out, expected, tolerance, tolerance))
      << (out - expected).abs().max().item<double>();
  at::Tensor upstream = at::randn_like(out);
  out.backward(upstream);
  expected.backward(upstream);
  for (auto [got, want, name] : {std::tuple{fused.q, ref.q, "q"}, {fused.k, ref.k, "k"},
                                 {fused.v, ref.v, "v"}}) {
    EXPECT_TRUE(at::allclose(got.grad(), want.grad(), tolerance, tolerance))
        << name << ": " << (got.grad() - want.grad()).abs().max().item<double>();
  }
}

TEST(AttentionTest, FusedMatchesMatmulAndSoftmaxWithItsGradients) {
  ExpectSameAsMatmul(6, 17, 32, at::kFloat, 1e-5);  // a 28x28 image in 7x7 patches
  ExpectSameAsMatmul(3, 1, 32, at::kFloat, 1e-5);   // the class token alone
  ExpectSameAsMatmul(2, kFusedAttentionMaxTokens, 16, at::kFloat, 1e-5);
  ExpectSameAsMatmul(4, 17, 32, at::kDouble, 1e-12);
}

TEST(AttentionTest, LargeScoresDoNotOverflow) {
  Inputs in = Random(2, 17, 32, at::kFloat, 3);
  at::Tensor big = in.q.detach() * 1e4;
  at::Tensor out = Attention(big, in.k.detach(), in.v.detach(), 1.0);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_TRUE(at::allclose(out, AttentionByMatmul(big, in.k.detach(), in.v.detach(), 1.0), 1e-4,
                           1e-4));
}

TEST(AttentionTest, ManyTokensOtherDtypesAndAutocastTakeLibTorchsPath) {
  EXPECT_FALSE(UsesFusedAttention(at::zeros({2, kFusedAttentionMaxTokens + 1, 32})));
  EXPECT_FALSE(UsesFusedAttention(at::zeros({2, 17, 32}, at::kBFloat16)));
  {
    const AutocastScope autocast(Precision::kBFloat16, at::Device(at::kCPU));
    EXPECT_FALSE(UsesFusedAttention(at::zeros({2, 17, 32})));
  }
  EXPECT_TRUE(UsesFusedAttention(at::zeros({2, 17, 32})));
  // Past the bound the result is still attention.
  Inputs in = Random(2, kFusedAttentionMaxTokens + 1, 8, at::kFloat, 5);
  EXPECT_TRUE(at::allclose(Attention(in.q, in.k, in.v, 0.5),
                           AttentionByMatmul(in.q, in.k, in.v, 0.5), 1e-6, 1e-6));
}

}  // namespace
}  // namespace wave
