// What the host-data runners (gemv_runner.cu, gemm_runner.cu) share: owned
// device memory (CUDA failures return through KPOLICY_CUDA_CHECK, cuda_check.h).
#ifndef KPOLICY_KERNELS_CUDA_HOST_RUNNER_SUPPORT_CUH_
#define KPOLICY_KERNELS_CUDA_HOST_RUNNER_SUPPORT_CUH_

#include <cuda_runtime.h>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/cuda_check.h"

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
