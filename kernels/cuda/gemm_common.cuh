// Internal to kpolicy_gemm_cuda: the checked-call macros of the GEMM paths
// (CUDA runtime and cuBLAS), the GemmContext / GemmWeights state, and the
// launch functions the path files share.
#ifndef KPOLICY_KERNELS_CUDA_GEMM_COMMON_CUH_
#define KPOLICY_KERNELS_CUDA_GEMM_COMMON_CUH_

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "kpolicy/kernels/cuda_status.h"
#include "kpolicy/kernels/gemm_context.h"
#include "kpolicy/kernels/gemm_paths.h"

#define KPOLICY_GEMM_STATUS(code, what) \
  ::kpolicy::kernels::gpu::CudaStatus { static_cast<int>(code), __FILE__, __LINE__, what }

// A CUDA runtime call; on failure returns its error with this file:line.
#define KPOLICY_GEMM_CUDA(expr)                                         \
  do {                                                                  \
    const cudaError_t kpolicy_gemm_err_ = (expr);                       \
    if (kpolicy_gemm_err_ != cudaSuccess) {                             \
      return KPOLICY_GEMM_STATUS(kpolicy_gemm_err_, #expr);             \
    }                                                                   \
  } while (0)

// Argument check: cudaErrorInvalidValue naming the violated condition.
#define KPOLICY_GEMM_ARG(cond)                                                  \
  do {                                                                          \
    if (!(cond)) return KPOLICY_GEMM_STATUS(cudaErrorInvalidValue, "invalid argument: " #cond); \
  } while (0)

#define KPOLICY_GEMM_RETURN_IF_ERROR(status_expr)                       \
  do {                                                                  \
    const ::kpolicy::kernels::gpu::CudaStatus kpolicy_gemm_st_ = (status_expr); \
    if (!kpolicy_gemm_st_.ok()) return kpolicy_gemm_st_;                \
  } while (0)

// One case of KPOLICY_GEMM_CUBLAS: the status name and meaning are string
// literals concatenated with the call at compile time, so the message needs
// no storage of its own (CudaStatus::what is static).
#define KPOLICY_GEMM_CUBLAS_CASE(expr, status, code, meaning) \
  case status:                                                \
    return KPOLICY_GEMM_STATUS(code, #expr " -> " #status " (" meaning ")");

// A cuBLAS / cuBLASLt call; on failure returns a CudaStatus whose code is
// the nearest CUDA error and whose `what` names the call and the cuBLAS
// status, e.g. "cublasLtMatmul(...) -> CUBLAS_STATUS_NOT_SUPPORTED (...)".
#define KPOLICY_GEMM_CUBLAS(expr)                                                              \
  do {                                                                                         \
    const cublasStatus_t kpolicy_gemm_cb_ = (expr);                                            \
    switch (kpolicy_gemm_cb_) {                                                                \
      case CUBLAS_STATUS_SUCCESS:                                                              \
        break;                                                                                 \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_NOT_INITIALIZED, cudaErrorInitializationError, \
                               "cuBLAS could not initialise: no driver or no device")          \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_ALLOC_FAILED, cudaErrorMemoryAllocation,    \
                               "cuBLAS could not allocate memory")                             \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_INVALID_VALUE, cudaErrorInvalidValue,       \
                               "an argument or a type/layout combination cuBLAS rejects")      \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_ARCH_MISMATCH, cudaErrorNotSupported,       \
                               "the device lacks a feature this call needs")                   \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_MAPPING_ERROR, cudaErrorUnknown,            \
                               "GPU memory access failed")                                     \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_EXECUTION_FAILED, cudaErrorLaunchFailure,   \
                               "a cuBLAS kernel failed to launch or run")                      \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_INTERNAL_ERROR, cudaErrorUnknown,           \
                               "cuBLAS internal error")                                        \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_NOT_SUPPORTED, cudaErrorNotSupported,       \
                               "configuration not supported")                                  \
      KPOLICY_GEMM_CUBLAS_CASE(expr, CUBLAS_STATUS_LICENSE_ERROR, cudaErrorUnknown,            \
                               "cuBLAS license error")                                         \
      default:                                                                                 \
        return KPOLICY_GEMM_STATUS(cudaErrorUnknown, #expr " -> unknown cublasStatus_t");       \
    }                                                                                          \
  } while (0)

namespace kpolicy::kernels::gpu {

// The cuBLASLt objects of one FP8 product shape, built once per (M, N, K).
struct Fp8Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace_bytes = 0;
  Fp8Plan() = default;
  Fp8Plan(const Fp8Plan&) = delete;
  Fp8Plan& operator=(const Fp8Plan&) = delete;
  ~Fp8Plan();
};

struct GemmContext::State {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;
  int64_t workspace_bytes = 0;
  void* scratch = nullptr;  // activations in FP8/FP16/Q8_1, split-K partials
  int64_t scratch_bytes = 0;
  int cc_major = 0, cc_minor = 0, sms = 0;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::unique_ptr<Fp8Plan>> fp8_plans;

  ~State();
  // Makes the scratch at least `bytes` long (grows only; a growth frees and
  // allocates, which synchronises the device).
  CudaStatus ReserveScratch(int64_t bytes);
};

struct GemmWeights::State {
  GemmPath path = GemmPath::kGemvLoop;
  WeightFormat source_format = WeightFormat::kQ4K;
  int64_t n = 0, k = 0;
  void* data = nullptr;
  int64_t bytes = 0;
  float* fp8_scale_device = nullptr;
  float fp8_scale = 1.0f;
  ~State();
};

inline int64_t AlignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

namespace detail {

// gemm_f16.cu: x (count floats) -> FP16 RNE. Precondition: count % 4 == 0.
CudaStatus LaunchFloatToHalf(const float* x, int64_t count, void* out, cudaStream_t stream);

// gemm_w4a16.cu: y = x W^T from the interleaved layout; `partials` is device
// scratch of W4a16PartialFloats floats.
int W4a16Splits(int64_t n, int64_t k, int sms);
int64_t W4a16PartialFloats(int64_t n, int64_t k, int m, int sms);
CudaStatus LaunchW4a16(const void* weights, const float* x, int m, int64_t n, int64_t k, float* y,
                       float* partials, int sms, cudaStream_t stream);

}  // namespace detail
}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_CUDA_GEMM_COMMON_CUH_
