// What the host-data runners (gemv_runner.cu, gemm_runner.cu) share: owned
// device memory and early returns of CUDA failures as Expected errors.
#ifndef KPOLICY_KERNELS_CUDA_HOST_RUNNER_SUPPORT_CUH_
#define KPOLICY_KERNELS_CUDA_HOST_RUNNER_SUPPORT_CUH_

#include <cuda_runtime.h>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/cuda_status.h"

// Evaluates a CUDA runtime call; on failure returns Fail(CudaStatus) naming
// the call and this file:line, from a function returning an Expected.
#define KPOLICY_CUDA_TRY_EXPECTED(expr)                                                        \
  do {                                                                                         \
    const cudaError_t kpolicy_err_ = (expr);                                                   \
    if (kpolicy_err_ != cudaSuccess) {                                                         \
      return ::kpolicy::Fail(                                                                  \
          ::kpolicy::kernels::gpu::CudaStatus{static_cast<int>(kpolicy_err_), __FILE__, __LINE__, #expr}); \
    }                                                                                          \
  } while (0)

// Returns Fail(status) from a function returning an Expected when a
// CudaStatus-returning call fails.
#define KPOLICY_STATUS_TRY_EXPECTED(status_expr)                                               \
  do {                                                                                         \
    const ::kpolicy::kernels::gpu::CudaStatus kpolicy_st_ = (status_expr);                     \
    if (!kpolicy_st_.ok()) return ::kpolicy::Fail(kpolicy_st_);                                \
  } while (0)

namespace kpolicy::kernels::gpu::detail {

// A cudaMalloc'd pointer freed on destruction.
struct DeviceMemory {
  void* ptr = nullptr;
  DeviceMemory() = default;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() {
    if (ptr) cudaFree(ptr);
  }
};

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_HOST_RUNNER_SUPPORT_CUH_
