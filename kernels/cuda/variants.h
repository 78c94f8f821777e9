// Internal to kpolicy_kernels_cuda: the launch functions that the registry
// (gemv_registry.cpp) lists, one per kernel file. CUDA-free.
#ifndef KPOLICY_KERNELS_CUDA_VARIANTS_H_
#define KPOLICY_KERNELS_CUDA_VARIANTS_H_

#include "kpolicy/kernels/gemv_registry.h"

namespace kpolicy::kernels::gpu::detail {

CudaStatus LaunchQ4kLegacy(const GemvArgs& args);      // q4k_legacy.cu
CudaStatus LaunchQ4kWide(const GemvArgs& args);        // q4k_wide.cu
CudaStatus LaunchQ4kVectorized(const GemvArgs& args);  // q4k_vectorized.cu
CudaStatus LaunchQ4kMwvDp4a(const GemvArgs& args);     // q4k_mwv_dp4a.cu
CudaStatus LaunchQ4kHwDp4a(const GemvArgs& args);      // q4k_hw_dp4a.cu
CudaStatus LaunchQ4kMwv(const GemvArgs& args);         // q4k_mwv.cu
CudaStatus LaunchQ6kLegacy(const GemvArgs& args);      // q6k_legacy.cu
CudaStatus LaunchQ6kMwv(const GemvArgs& args);         // q6k_mwv.cu
CudaStatus LaunchQ6kDp4a(const GemvArgs& args);        // q6k_dp4a.cu
CudaStatus LaunchQ6kHwDp4a(const GemvArgs& args);      // q6k_hw_dp4a.cu

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_VARIANTS_H_
