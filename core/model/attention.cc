#include "core/model/attention.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace wave {
namespace {

// Every loop below runs along a contiguous row (length dh or T), so the
// compiler can vectorize it without reordering a reduction.

// out[r, :] (length cols) = sum_i a[r, i] * b[i, :] for r < rows, i < inner.
template <typename T>
void RowsTimes(const T* a, const T* b, T* out, int64_t rows, int64_t inner, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    T* o = out + r * cols;
    std::fill(o, o + cols, T(0));
    for (int64_t i = 0; i < inner; ++i) {
      const T ari = a[r * inner + i];
      const T* bi = b + i * cols;
      for (int64_t c = 0; c < cols; ++c) o[c] += ari * bi[c];
    }
  }
}

// out [cols, rows] = in [rows, cols] transposed.
template <typename T>
void Transpose(const T* in, T* out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = in[r * cols + c];
  }
}

// One head: a = softmax(q k^T * scale) [t, t], o = a v [t, dh].
template <typename T>
void HeadForward(const T* q, const T* k, const T* v, T* a, T* o, int64_t t, int64_t dh,
                 T scale, std::vector<T>& kt) {
  kt.resize(dh * t);
  Transpose(k, kt.data(), t, dh);
  RowsTimes(q, kt.data(), a, t, dh, t);  // q k^T
  for (int64_t i = 0; i < t; ++i) {
    T* row = a + i * t;
    T top = row[0] * scale;
    for (int64_t j = 0; j < t; ++j) top = std::max(top, row[j] * scale);
    T sum = 0;
    for (int64_t j = 0; j < t; ++j) sum += row[j] = std::exp(row[j] * scale - top);
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < t; ++j) row[j] *= inv;
  }
  RowsTimes(a, v, o, t, t, dh);
}

// One head's gradients from the output's (g [t, dh]) and the saved softmax a.
template <typename T>
void HeadBackward(const T* q, const T* k, const T* v, const T* a, const T* g, T* dq, T* dk,
                  T* dv, int64_t t, int64_t dh, T scale, std::vector<T>& work) {
  work.resize(2 * t * t + dh * t);
  T* ds = work.data();         // [t, t]: dA, then dS
  T* at = ds + t * t;          // [t, t]: a^T, then dS^T
  T* vt = at + t * t;          // [dh, t]
  Transpose(v, vt, t, dh);
  RowsTimes(g, vt, ds, t, dh, t);  // dA = g v^T
  Transpose(a, at, t, t);
  RowsTimes(at, g, dv, t, t, dh);  // dV = a^T g
  for (int64_t i = 0; i < t; ++i) {  // dS = a * (dA - rowsum(dA * a)), then * scale
    T* dsi = ds + i * t;
    const T* ai = a + i * t;
    T dot = 0;
    for (int64_t j = 0; j < t; ++j) dot += dsi[j] * ai[j];
    for (int64_t j = 0; j < t; ++j) dsi[j] = ai[j] * (dsi[j] - dot) * scale;
  }
  RowsTimes(ds, k, dq, t, t, dh);  // dQ = dS k
  Transpose(ds, at, t, t);
  RowsTimes(at, q, dk, t, t, dh);  // dK = dS^T q
}

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q_in,
                            const at::Tensor& k_in, const at::Tensor& v_in, double scale) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const at::Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const int64_t n = q.size(0), t = q.size(1), dh = q.size(2);
    at::Tensor a = at::empty({n, t, t}, q.options());
    at::Tensor o = at::empty({n, t, dh}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "FusedAttention", [&] {
      const scalar_t* qp = q.data_ptr<scalar_t>();
      const scalar_t* kp = k.data_ptr<scalar_t>();
      const scalar_t* vp = v.data_ptr<scalar_t>();
      scalar_t* ap = a.data_ptr<scalar_t>();
      scalar_t* op = o.data_ptr<scalar_t>();
      at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> kt;
        for (int64_t h = begin; h < end; ++h) {
          HeadForward(qp + h * t * dh, kp + h * t * dh, vp + h * t * dh, ap + h * t * t,
                      op + h * t * dh, t, dh, static_cast<scalar_t>(scale), kt);
        }
      });
    });
    ctx->save_for_backward({q, k, v, a});
    ctx->saved_data["scale"] = scale;
    return o;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &a = saved[3];
    const double scale = ctx->saved_data["scale"].toDouble();
    const at::Tensor g = grads[0].contiguous();
    const int64_t n = q.size(0), t = q.size(1), dh = q.size(2);
    at::Tensor dq = at::empty_like(q), dk = at::empty_like(k), dv = at::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "FusedAttentionBackward", [&] {
      const scalar_t* qp = q.data_ptr<scalar_t>();
      const scalar_t* kp = k.data_ptr<scalar_t>();
      const scalar_t* vp = v.data_ptr<scalar_t>();
      const scalar_t* ap = a.data_ptr<scalar_t>();
      const scalar_t* gp = g.data_ptr<scalar_t>();
      scalar_t *dqp = dq.data_ptr<scalar_t>(), *dkp = dk.data_ptr<scalar_t>(),
               *dvp = dv.data_ptr<scalar_t>();
      at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> work;
        for (int64_t h = begin; h < end; ++h) {
          const int64_t x = h * t * dh;
          HeadBackward(qp + x, kp + x, vp + x, ap + h * t * t, gp + x, dqp + x, dkp + x,
                       dvp + x, t, dh, static_cast<scalar_t>(scale), work);
        }
      });
    });
    return {dq, dk, dv, at::Tensor()};
  }
};

}  // namespace

bool UsesFusedAttention(const at::Tensor& q) {
  const bool float_type = q.scalar_type() == at::kFloat || q.scalar_type() == at::kDouble;
  return q.device().is_cpu() && float_type && !at::autocast::is_cpu_enabled() &&
         q.dim() == 3 && q.size(1) <= kFusedAttentionMaxTokens;
}

at::Tensor AttentionByMatmul(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             double scale) {
  return at::matmul(at::softmax(at::matmul(q * scale, k.transpose(-2, -1)), -1), v);
}

at::Tensor Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     double scale) {
  if (!UsesFusedAttention(q) || k.scalar_type() != q.scalar_type() ||
      v.scalar_type() != q.scalar_type()) {
    return AttentionByMatmul(q, k, v, scale);
  }
  return FusedAttention::apply(q, k, v, scale);
}

}  // namespace wave
