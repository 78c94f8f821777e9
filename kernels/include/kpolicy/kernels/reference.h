// The CPU fp64 reference: what a GEMV or GEMM "should" produce for given
// weights and activations, free of any kernel's rounding. Weight values are
// the format's exact meaning evaluated in double (d*sc*q - dmin*m for Q4_K,
// decode(code)*scale for FP8, ...); products and sums are double. Every
// kernel variant and every emulation is measured against this.
//
// Thread-safety: pure functions. Cost: O(M*N*K) double multiply-adds; meant
// for test shapes and parity runs, not for serving.
#ifndef KPOLICY_KERNELS_REFERENCE_H_
#define KPOLICY_KERNELS_REFERENCE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

// Row n of the weights as doubles, each the exact value the format encodes.
void ReferenceRow(const WeightView& weights, int64_t row, std::span<double> out);

// y = x * W^T: x is M x K (row-major; the M activation rows of a decode
// step, 1..8 in practice, or the T tokens of a prefill), W is N x K, y is
// M x N (row-major). Precondition: x.size() == m * weights.cols, m >= 1.
std::vector<double> ReferenceGemv(const WeightView& weights, std::span<const float> x, int64_t m);

// Plain GEMM for prefill, C = A * B: A is T x K, B is K x N, C is T x N, all
// row-major. Precondition: a.size() == t*k, b.size() == k*n.
std::vector<double> ReferenceGemm(std::span<const float> a, std::span<const float> b, int64_t t,
                                  int64_t k, int64_t n);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_REFERENCE_H_
