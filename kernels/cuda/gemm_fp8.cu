// The FP8 path's device pieces (gemm_paths.h, GemmPath::kFp8Lt): per-tensor
// FP8 E4M3 encoding of the activations, and the cuBLASLt TN product.
#include <cuda_fp8.h>

#include <cmath>

#include "gemm_common.cuh"

namespace kpolicy::kernels::gpu {
namespace {

constexpr int kThreads = 256;

// Largest finite |x| over the tensor, as the bits of a non-negative float
// (which order like unsigned integers, so atomicMax on them is max on the
// floats). NaN and inf are skipped, as FiniteAbsmax does.
__global__ void __launch_bounds__(kThreads)
    AbsmaxKernel(const float4* __restrict__ x, int64_t count4, uint32_t* absmax_bits) {
  float local = 0.0f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count4; i += stride) {
    const float4 v = x[i];
    const float vals[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float a = fabsf(vals[j]);
      if (a <= 3.402823466e38f) local = fmaxf(local, a);  // false for NaN and inf
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    local = fmaxf(local, __shfl_xor_sync(0xFFFFFFFFu, local, offset));
  }
  if ((threadIdx.x & 31) == 0) atomicMax(absmax_bits, __float_as_uint(local));
}

// FloatToFp8E4M3(v / scale): round to nearest even, saturate finite values
// and infinities to +-448 (cvt.rn.satfinite on sm_89+), NaN -> 0x7F with
// its sign. The NaN test comes before the division: the GPU's division
// returns the canonical (positive) NaN, where the CPU's keeps the input's
// sign (seen on the H100: -NaN encoded as 0x7F, the CPU 0xFF).
__device__ __forceinline__ uint32_t EncodeE4M3(float v, float scale) {
  if (isnan(v)) return (signbit(v) ? 0x80u : 0x00u) | 0x7Fu;
  return static_cast<uint32_t>(__nv_cvt_float_to_fp8(v / scale, __NV_SATFINITE, __NV_E4M3));
}

// codes = E4M3(x / s), s = absmax/448 (1 when absmax is 0): the same float
// division as the CPU's QuantizeFp8PerTensor (IEEE-rounded: no fast math).
__global__ void __launch_bounds__(kThreads)
    EncodeKernel(const float4* __restrict__ x, int64_t count4, const uint32_t* absmax_bits,
                 uint32_t* __restrict__ codes, float* scale_out) {
  const float absmax = __uint_as_float(*absmax_bits);
  const float scale = absmax == 0.0f ? 1.0f : absmax / 448.0f;
  if (blockIdx.x == 0 && threadIdx.x == 0) *scale_out = scale;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count4; i += stride) {
    const float4 v = x[i];
    codes[i] = EncodeE4M3(v.x, scale) | (EncodeE4M3(v.y, scale) << 8) | (EncodeE4M3(v.z, scale) << 16) |
               (EncodeE4M3(v.w, scale) << 24);
  }
}

int BlocksFor(int64_t count4) {
  const int64_t blocks = (count4 + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > 4096 ? 4096 : blocks));
}

// Builds the cuBLASLt objects for D (N x M col-major FP32) = A^T B with A
// (K x N, E4M3, lda K) and B (K x M, E4M3, ldb K), and asks the heuristic.
Status BuildFp8Plan(GemmContext::State& s, int64_t m, int64_t n, int64_t k, Fp8Plan* plan) {
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa,
                                                     sizeof(transa)));
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &transb,
                                                     sizeof(transb)));
  // Placeholder scale pointers: the heuristic must know that scales are used
  // (it does not dereference them); each call sets the real ones.
  const void* placeholder = s.workspace;
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                     &placeholder, sizeof(placeholder)));
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                     &placeholder, sizeof(placeholder)));
  KPOLICY_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->a, CUDA_R_8F_E4M3, static_cast<uint64_t>(k),
                                                 static_cast<uint64_t>(n), k));
  KPOLICY_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->b, CUDA_R_8F_E4M3, static_cast<uint64_t>(k),
                                                 static_cast<uint64_t>(m), k));
  KPOLICY_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->d, CUDA_R_32F, static_cast<uint64_t>(n),
                                                 static_cast<uint64_t>(m), n));

  cublasLtMatmulPreference_t pref = nullptr;
  KPOLICY_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t max_ws = static_cast<uint64_t>(s.workspace_bytes);
  cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                           &max_ws, sizeof(max_ws));
  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  if (st == CUBLAS_STATUS_SUCCESS) {
    st = cublasLtMatmulAlgoGetHeuristic(s.lt, plan->desc, plan->a, plan->b, plan->d, plan->d, pref, 1,
                                        &result, &count);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  // No algorithm comes back either as NOT_SUPPORTED or as success with a
  // count of 0: both are the same error for the caller.
  if (st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && count == 0)) {
    return Fail(ErrorCode::kUnsupported, std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " +
        "cublasLtMatmulAlgoGetHeuristic found no algorithm for the FP8 GEMM (A = weights E4M3 "
        "K x N lda K transa T, B = activations E4M3 K x M ldb K transb N, C = D FP32 N x M ldd N, "
        "CUBLAS_COMPUTE_32F, FP32 A/B scale pointers): cuBLASLt FP8 needs K % 16 == 0, "
        "16-byte aligned leading dimensions and cc >= 8.9");
  }
  if (st == CUBLAS_STATUS_INVALID_VALUE) {
    return Fail(ErrorCode::kDevice, std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " +
        "cublasLtMatmulAlgoGetHeuristic -> CUBLAS_STATUS_INVALID_VALUE: no algorithm for the FP8 "
        "GEMM (A = weights E4M3 K x N lda K transa T, B = activations E4M3 K x M ldb K transb N, "
        "C = D FP32 N x M ldd N, CUBLAS_COMPUTE_32F): cuBLASLt rejects these descriptors");
  }
  KPOLICY_CUDA_CHECK(st);
  KPOLICY_CUDA_CHECK(result.state);
  plan->algo = result.algo;
  plan->workspace_bytes = result.workspaceSize;
  return {};
}

}  // namespace

Status LaunchQuantizeFp8PerTensor(const float* x, int64_t count, uint8_t* codes, float* scale,
                                      uint32_t* absmax_bits, StreamHandle stream) {
  KPOLICY_CHECK_ARG(x != nullptr && codes != nullptr && scale != nullptr && absmax_bits != nullptr);
  KPOLICY_CHECK_ARG(count > 0 && count % 4 == 0);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(codes) % 4 == 0);
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int64_t count4 = count / 4;
  KPOLICY_CUDA_CHECK(cudaMemsetAsync(absmax_bits, 0, sizeof(uint32_t), s));
  AbsmaxKernel<<<BlocksFor(count4), kThreads, 0, s>>>(reinterpret_cast<const float4*>(x), count4,
                                                      absmax_bits);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  EncodeKernel<<<BlocksFor(count4), kThreads, 0, s>>>(reinterpret_cast<const float4*>(x), count4,
                                                      absmax_bits, reinterpret_cast<uint32_t*>(codes),
                                                      scale);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

Status Fp8Matmul(GemmContext& context, const uint8_t* a_codes, const float* a_scale,
                     const uint8_t* b_codes, const float* b_scale, int64_t m, int64_t n, int64_t k,
                     float* y) {
  GemmContext::State& s = context.state();
  KPOLICY_TRY(CheckFp8Capability(s.cc_major, s.cc_minor));
  KPOLICY_CHECK_ARG(a_codes != nullptr && a_scale != nullptr && b_codes != nullptr &&
                   b_scale != nullptr && y != nullptr);
  KPOLICY_CHECK_ARG(m >= 1 && n >= 1 && k >= 1 && m < (int64_t{1} << 31) && n < (int64_t{1} << 31) &&
                   k < (int64_t{1} << 31));
  auto& slot = s.fp8_plans[{m, n, k}];
  if (!slot) {
    auto plan = std::make_unique<Fp8Plan>();
    KPOLICY_TRY(BuildFp8Plan(s, m, n, k, plan.get()));
    slot = std::move(plan);
  }
  Fp8Plan& plan = *slot;
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                     &a_scale, sizeof(a_scale)));
  KPOLICY_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                     &b_scale, sizeof(b_scale)));
  const float alpha = 1.0f, beta = 0.0f;
  KPOLICY_CUDA_CHECK(cublasLtMatmul(s.lt, plan.desc, &alpha, a_codes, plan.a, b_codes, plan.b, &beta, y,
                                     plan.d, y, plan.d, &plan.algo, s.workspace, plan.workspace_bytes,
                                     s.stream));
  return {};
}

}  // namespace kpolicy::kernels::gpu
