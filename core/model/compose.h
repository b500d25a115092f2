// Kronecker composition W = sum_t S_t (x) P_t (docs/DESIGN.md, "Composition").
#ifndef WAVE_CORE_MODEL_COMPOSE_H_
#define WAVE_CORE_MODEL_COMPOSE_H_

#include <ATen/ATen.h>

namespace wave {

// scalers [N, a, b], templates [N, p, q] -> W [a*p, b*q] with block (i, j) of
// W equal to sum_t scalers[t, i, j] * templates[t]. Differentiable in both
// arguments. On the CPU in float or double it is one pass that writes W once;
// elsewhere it falls back to a GEMM and a permute.
at::Tensor KroneckerSum(const at::Tensor& scalers, const at::Tensor& templates);

// The same by N explicit Kronecker products: the slow reference for tests.
at::Tensor KroneckerSumReference(const at::Tensor& scalers, const at::Tensor& templates);

}  // namespace wave

#endif  // WAVE_CORE_MODEL_COMPOSE_H_
