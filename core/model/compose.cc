#include "core/model/compose.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <type_traits>

namespace wave {
namespace {

// out[i*p + r, j*q + c] = sum_t s[t, i, j] * tr[r, t, c]. Each output row
// segment of length q stays in L1 while the N templates accumulate into it,
// so W leaves the core once. The templates come row-interleaved ([p, N, q]):
// the N rows that one output row reads are then adjacent, where in [N, p, q]
// they sit p*q apart, a power of two that maps them all to the same L1 sets.
template <typename T>
void ComposeRows(const T* s, const T* tr, T* out, int64_t n, int64_t a, int64_t b, int64_t p,
                 int64_t q, int64_t begin, int64_t end) {
  const int64_t cols = b * q;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t i = row / p, r = row % p;
    T* out_row = out + row * cols;
    for (int64_t j = 0; j < b; ++j) {
      T* seg = out_row + j * q;
      const T s0 = s[i * b + j];
      const T* t0 = tr + r * n * q;
      for (int64_t c = 0; c < q; ++c) seg[c] = s0 * t0[c];
      for (int64_t t = 1; t < n; ++t) {
        const T st = s[(t * a + i) * b + j];
        const T* tt = t0 + t * q;
        for (int64_t c = 0; c < q; ++c) seg[c] += st * tt[c];
      }
    }
  }
}

// The same for float with the tile width Q known at compile time. J segments
// of a row are composed together, so J*Q sums live in registers across all N
// templates and are stored once; J is chosen so that J*Q/8 (eight AVX lanes)
// independent accumulators hide the FMA latency, which a single segment's
// four chains of dependent FMAs could not.
template <int Q, int J>
__attribute__((always_inline)) inline void ComposeSegments(const float* s, int64_t s_stride,
                                                           const float* tr, int64_t n,
                                                           float* out) {
  float acc[J][Q] = {};
  for (int64_t t = 0; t < n; ++t) {
    const float* tt = tr + t * Q;  // template t, this row
    for (int jj = 0; jj < J; ++jj) {
      const float st = s[t * s_stride + jj];
      for (int c = 0; c < Q; ++c) acc[jj][c] += st * tt[c];
    }
  }
  for (int jj = 0; jj < J; ++jj) {
    for (int c = 0; c < Q; ++c) out[jj * Q + c] = acc[jj][c];
  }
}

template <int Q, int J>
__attribute__((always_inline)) inline void ComposeRowsFixedTile(
    const float* s, const float* tr, float* out, int64_t n, int64_t a, int64_t b, int64_t p,
    int64_t begin, int64_t end) {
  const int64_t cols = b * Q;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t i = row / p, r = row % p;
    float* out_row = out + row * cols;
    const float* s_row = s + i * b;  // scaler (t, i, j) is s_row[t * a * b + j]
    const float* t_row = tr + r * n * Q;  // template t's row r is t_row + t * Q
    int64_t j = 0;
    for (; j + J <= b; j += J) {
      ComposeSegments<Q, J>(s_row + j, a * b, t_row, n, out_row + j * Q);
    }
    for (; j < b; ++j) ComposeSegments<Q, 1>(s_row + j, a * b, t_row, n, out_row + j * Q);
  }
}

// x86-64 builds get an AVX2+FMA clone picked at load time, so one binary
// runs on any x86-64 and uses the wider units where the CPU has them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WAVE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WAVE_CPU_CLONES
#endif

WAVE_CPU_CLONES void ComposeRowsTile16(const float* s, const float* tr, float* out, int64_t n,
                                       int64_t a, int64_t b, int64_t p, int64_t begin,
                                       int64_t end) {
  ComposeRowsFixedTile<16, 4>(s, tr, out, n, a, b, p, begin, end);
}

WAVE_CPU_CLONES void ComposeRowsTile32(const float* s, const float* tr, float* out, int64_t n,
                                       int64_t a, int64_t b, int64_t p, int64_t begin,
                                       int64_t end) {
  ComposeRowsFixedTile<32, 2>(s, tr, out, n, a, b, p, begin, end);
}

template <typename T>
void Compose(const T* s, const T* tr, T* out, int64_t n, int64_t a, int64_t b, int64_t p,
             int64_t q) {
  at::parallel_for(0, a * p, 16, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      if (q == 16) return ComposeRowsTile16(s, tr, out, n, a, b, p, begin, end);
      if (q == 32) return ComposeRowsTile32(s, tr, out, n, a, b, p, begin, end);
    }
    ComposeRows<T>(s, tr, out, n, a, b, p, q, begin, end);
  });
}

at::Tensor ComposeForward(const at::Tensor& scalers, const at::Tensor& templates) {
  const int64_t n = scalers.size(0), a = scalers.size(1), b = scalers.size(2);
  const int64_t p = templates.size(1), q = templates.size(2);
  const bool fast = scalers.device().is_cpu() && templates.device().is_cpu() &&
                    scalers.scalar_type() == templates.scalar_type() &&
                    (scalers.scalar_type() == at::kFloat || scalers.scalar_type() == at::kDouble);
  if (!fast) {
    // GEMM [a*b, N] x [N, p*q], then permute the blocks into place.
    at::Tensor blocks = at::matmul(scalers.reshape({n, a * b}).t(), templates.reshape({n, p * q}));
    return blocks.view({a, b, p, q}).permute({0, 2, 1, 3}).reshape({a * p, b * q});
  }
  at::Tensor s = scalers.contiguous(), t = templates.permute({1, 0, 2}).contiguous();
  at::Tensor out = at::empty({a * p, b * q}, s.options());
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "KroneckerSum", [&] {
    Compose<scalar_t>(s.data_ptr<scalar_t>(), t.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                      n, a, b, p, q);
  });
  return out;
}

class KroneckerSumFunction : public torch::autograd::Function<KroneckerSumFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& scalers,
                            const at::Tensor& templates) {
    ctx->save_for_backward({scalers, templates});
    at::AutoDispatchBelowADInplaceOrView guard;
    return ComposeForward(scalers, templates);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& s = saved[0];
    const at::Tensor& t = saved[1];
    const int64_t n = s.size(0), a = s.size(1), b = s.size(2), p = t.size(1), q = t.size(2);
    // g4[i, r, j, c] is W[i*p + r, j*q + c].
    at::Tensor g4 = grads[0].contiguous().view({a, p, b, q});
    // Block (i, j) of the gradient as row i*b + j: permuted once for both.
    at::Tensor g_blocks = g4.permute({0, 2, 1, 3}).reshape({a * b, p * q});
    at::Tensor grad_s, grad_t;
    if (ctx->needs_input_grad(0)) {
      // dS[t, i, j] = sum_{r,c} g4[i, r, j, c] * P[t, r, c]
      grad_s = at::matmul(t.reshape({n, p * q}), g_blocks.t()).view({n, a, b});
    }
    if (ctx->needs_input_grad(1)) {
      // dP[t, r, c] = sum_{i,j} S[t, i, j] * g4[i, r, j, c]
      grad_t = at::matmul(s.reshape({n, a * b}), g_blocks).view({n, p, q});
    }
    return {grad_s, grad_t};
  }
};

}  // namespace

at::Tensor KroneckerSum(const at::Tensor& scalers, const at::Tensor& templates) {
  TORCH_CHECK(scalers.dim() == 3 && templates.dim() == 3 &&
                  scalers.size(0) == templates.size(0),
              "KroneckerSum: scalers [N, a, b] and templates [N, p, q] expected");
  return KroneckerSumFunction::apply(scalers, templates);
}

at::Tensor KroneckerSumReference(const at::Tensor& scalers, const at::Tensor& templates) {
  at::Tensor out = at::kron(scalers[0], templates[0]);
  for (int64_t t = 1; t < scalers.size(0); ++t) out = out + at::kron(scalers[t], templates[t]);
  return out;
}

}  // namespace wave
