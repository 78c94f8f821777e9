// Internal to kpolicy_gemm_cuda: the cuBLAS overload of the CUDA check
// (cuda_check.h), the GemmContext / GemmWeights state, and the
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

#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/gemm_context.h"
#include "kpolicy/kernels/gemm_paths.h"

namespace kpolicy::kernels::gpu {

// The cuBLAS / cuBLASLt overload of cuda_check.h's DeviceCallStatus, so that
// KPOLICY_CUDA_CHECK takes cuBLAS calls too: Error{kDevice, "FILE:LINE: EXPR:
// CUBLAS_STATUS_NAME (meaning)"}. Defined in gemm_context.cu.
Status DeviceCallStatus(cublasStatus_t status, const char* file, int line, const char* expr);

}  // namespace kpolicy::kernels::gpu

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
  Status ReserveScratch(int64_t bytes);
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
Status LaunchFloatToHalf(const float* x, int64_t count, void* out, cudaStream_t stream);

// gemm_w4a16.cu: y = x W^T from the interleaved layout; `partials` is device
// scratch of W4a16PartialFloats floats.
int W4a16Splits(int64_t n, int64_t k, int sms);
int64_t W4a16PartialFloats(int64_t n, int64_t k, int m, int sms);
Status LaunchW4a16(const void* weights, const float* x, int m, int64_t n, int64_t k, float* y,
                       float* partials, int sms, cudaStream_t stream);

}  // namespace detail
}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_CUDA_GEMM_COMMON_CUH_
