// Internal to kpolicy_kernels: the launch functions that the variant table
// (kernels/src/gemv_variants.cpp) points at, one per kernel file. CUDA-free,
// so the table's .cpp can name them; defined only in builds with CUDA.
#ifndef KPOLICY_KERNELS_CUDA_VARIANTS_H_
#define KPOLICY_KERNELS_CUDA_VARIANTS_H_

#include "kpolicy/kernels/gemv_variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ4kLegacy(const GemvArgs& args);      // q4k_legacy.cu
Status LaunchQ4kWide(const GemvArgs& args);        // q4k_wide.cu
Status LaunchQ4kVectorized(const GemvArgs& args);  // q4k_vectorized.cu
Status LaunchQ4kMwvDp4a(const GemvArgs& args);     // q4k_mwv_dp4a.cu
Status LaunchQ4kHwDp4a(const GemvArgs& args);      // q4k_hw_dp4a.cu
Status LaunchQ4kMwv(const GemvArgs& args);         // q4k_mwv_v3.cu (v1: gpu::LaunchQ4kMwvV1)
Status LaunchQ6kLegacy(const GemvArgs& args);      // q6k_legacy.cu
Status LaunchQ6kMwv(const GemvArgs& args);         // q6k_mwv.cu
Status LaunchQ6kDp4a(const GemvArgs& args);        // q6k_dp4a.cu
Status LaunchQ6kHwDp4a(const GemvArgs& args);      // q6k_hw_dp4a.cu

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_VARIANTS_H_
