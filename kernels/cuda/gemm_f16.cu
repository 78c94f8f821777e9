// The FP16 cuBLAS path's device pieces (gemm_paths.h, GemmPath::kF16Cublas):
// activations to FP16, and cublasGemmEx with FP32 accumulation and output.
#include <cuda_fp16.h>

#include "gemm_common.cuh"

namespace kpolicy::kernels::gpu {
namespace {

constexpr int kThreads = 256;

// out[i] = fp16(x[i]), round to nearest even (FloatToHalf's rounding).
__global__ void __launch_bounds__(kThreads)
    FloatToHalfKernel(const float4* __restrict__ x, int64_t count4, uint2* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count4; i += stride) {
    const float4 v = x[i];
    const __half2 lo = __floats2half2_rn(v.x, v.y), hi = __floats2half2_rn(v.z, v.w);
    uint2 packed;
    packed.x = *reinterpret_cast<const uint32_t*>(&lo);
    packed.y = *reinterpret_cast<const uint32_t*>(&hi);
    out[i] = packed;
  }
}

}  // namespace

namespace detail {

Status LaunchFloatToHalf(const float* x, int64_t count, void* out, cudaStream_t stream) {
  KPOLICY_CHECK_ARG(count > 0 && count % 4 == 0);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0);
  const int64_t count4 = count / 4;
  int64_t blocks = (count4 + kThreads - 1) / kThreads;
  if (blocks > 4096) blocks = 4096;
  FloatToHalfKernel<<<static_cast<int>(blocks), kThreads, 0, stream>>>(
      reinterpret_cast<const float4*>(x), count4, static_cast<uint2*>(out));
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

}  // namespace detail

Status F16Matmul(GemmContext& context, const void* a, const void* b, int64_t m, int64_t n, int64_t k,
                     float* y) {
  GemmContext::State& s = context.state();
  KPOLICY_CHECK_ARG(a != nullptr && b != nullptr && y != nullptr);
  KPOLICY_CHECK_ARG(m >= 1 && n >= 1 && k >= 1 && m < (int64_t{1} << 31) && n < (int64_t{1} << 31) &&
                   k < (int64_t{1} << 31));
  const float alpha = 1.0f, beta = 0.0f;
  // Column-major view: y^T (N x M, ldc N) = A^T (A stored K x N, lda K) * B
  // (B stored K x M, ldb K).
  KPOLICY_CUDA_CHECK(cublasGemmEx(s.cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n),
                                   static_cast<int>(m), static_cast<int>(k), &alpha, a, CUDA_R_16F,
                                   static_cast<int>(k), b, CUDA_R_16F, static_cast<int>(k), &beta, y,
                                   CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
  return {};
}

}  // namespace kpolicy::kernels::gpu
