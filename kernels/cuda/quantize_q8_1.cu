// Q8_1 activation quantisation for the DP4A GEMVs: one warp per 32
// activations, writing the planar layout documented in gemv_launch.h.
//
// Bit-exact with the CPU QuantizeQ8_1 (kQuantSum): every step is one
// correctly rounded IEEE operation on the same operands in the same order as
// kernels/src/q8_1.cpp: absmax (a max, exact in any order), d = absmax / 127
// (__fdiv_rn) saturated at 65504 (fminf, exact), 1/d (__frcp_rn, the
// correctly rounded reciprocal, = 1.0f / d), x * (1/d) (__fmul_rn: nothing
// to contract) clamped to +-127 (fminf/fmaxf, exact), roundf (ties away from
// zero, as std::lround), the int sum (exact), d * float(sum) (__fmul_rn), the
// fp16 d (__float2half_rn, as FloatToHalf) and the bf16 s
// (__float2bfloat16_rn, as FloatToBf16: both round to nearest even with
// subnormals kept; they differ only in the payload of a NaN, which finite
// input never gives).
#include <cuda_bf16.h>

#include "gemv_common.cuh"

namespace kpolicy::kernels::gpu {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    QuantizeQ8_1Kernel(const float* __restrict__ x, int8_t* __restrict__ qs,
                       uint32_t* __restrict__ ds, int64_t count) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  // count is a multiple of 256, so a warp is wholly in or out.
  if (i >= count) return;
  const float v = x[i];
  float absmax = fabsf(v);
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    absmax = fmaxf(absmax, __shfl_xor_sync(0xFFFFFFFFu, absmax, offset));
  }
  // Saturated d and quants: see QuantizeQ8_1 (finite input, finite block).
  const float d = fminf(__fdiv_rn(absmax, 127.0f), 65504.0f);
  const float inverse_d = d != 0.0f ? __frcp_rn(d) : 0.0f;
  const int q = static_cast<int>(roundf(fmaxf(-127.0f, fminf(__fmul_rn(v, inverse_d), 127.0f))));
  qs[i] = static_cast<int8_t>(q);
  int sum = q;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xFFFFFFFFu, sum, offset);
  if ((threadIdx.x & 31) == 0) {
    const uint32_t d_bits = __half_as_ushort(__float2half_rn(d));
    const uint32_t s_bits =
        __bfloat16_as_ushort(__float2bfloat16_rn(__fmul_rn(d, static_cast<float>(sum))));
    ds[i / 32] = d_bits | (s_bits << 16);
  }
}

}  // namespace

int64_t Q8_1ActivationBytes(int m, int64_t k) {
  return static_cast<int64_t>(m) * k + static_cast<int64_t>(m) * (k / 32) * 4;
}

Status LaunchQuantizeQ8_1(const float* x, int m, int64_t k, void* x_q8, StreamHandle stream) {
  KPOLICY_CHECK_ARG(x != nullptr && x_q8 != nullptr);
  KPOLICY_CHECK_ARG(m >= 1 && k >= 256 && k % 256 == 0);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(x_q8) % 16 == 0);
  const int64_t count = static_cast<int64_t>(m) * k;
  KPOLICY_CHECK_ARG(count / kThreads <= 0x7FFFFFFF);
  int8_t* qs = static_cast<int8_t*>(x_q8);
  uint32_t* ds = reinterpret_cast<uint32_t*>(qs + count);
  QuantizeQ8_1Kernel<<<static_cast<unsigned>(count / kThreads), kThreads, 0,
                       detail::ToStream(stream)>>>(x, qs, ds, count);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

}  // namespace kpolicy::kernels::gpu
