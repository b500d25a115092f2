// The attention of a ViT block: softmax(q k^T * scale) v, per head.
//
// LibTorch 1.13 built with OpenBLAS (Debian's) runs a batched matmul on the
// CPU as one GEMM call per matrix, each behind its own dispatch and views.
// A 28x28 image in 7x7 patches has 17 tokens: each head's products are
// 17 x 32 x 17, and a DeiT-S-size fit step makes about 55,000 such calls,
// whose overhead costs more than their arithmetic. No fused CPU attention
// with a backward pass exists in that LibTorch, so this unit writes one:
// one pass per (image, head) for the forward and one for the backward, with
// the softmax between, on at::parallel_for. Elsewhere (other devices, other
// dtypes such as bf16 under autocast, many tokens) it is LibTorch's matmul
// and softmax.
#ifndef WAVE_CORE_MODEL_ATTENTION_H_
#define WAVE_CORE_MODEL_ATTENTION_H_

#include <ATen/ATen.h>

#include <cstdint>

namespace wave {

// Up to this many tokens the fused kernel runs; above it each head's GEMM is
// large enough for OpenBLAS to pay for its call.
inline constexpr int64_t kFusedAttentionMaxTokens = 64;

// q, k, v: [N, T, dh] (N = batch x heads); returns [N, T, dh]. Differentiable
// in q, k and v.
at::Tensor Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     double scale);

// The same by LibTorch's matmul and softmax, on any device and dtype.
at::Tensor AttentionByMatmul(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             double scale);

// Whether Attention runs the fused kernel on these inputs.
bool UsesFusedAttention(const at::Tensor& q);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_ATTENTION_H_
