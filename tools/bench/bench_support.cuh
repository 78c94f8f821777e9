// What the GPU benchmarks share: a benchmark has no caller to return an error
// to, so a failed CUDA call or kernel launch prints where and exits.
#ifndef KPOLICY_TOOLS_BENCH_SUPPORT_CUH_
#define KPOLICY_TOOLS_BENCH_SUPPORT_CUH_

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#include "kpolicy/kernels/cuda_status.h"

#define BENCH_CHECK(expr)                                                                  \
  do {                                                                                     \
    const cudaError_t e_ = (expr);                                                         \
    if (e_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,                   \
                   cudaGetErrorString(e_));                                                \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

#define BENCH_OK(status_expr)                                                              \
  do {                                                                                     \
    const ::kpolicy::kernels::gpu::CudaStatus s_ = (status_expr);                          \
    if (!s_.ok()) {                                                                        \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, s_.ToString().c_str());      \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

#endif  // KPOLICY_TOOLS_BENCH_SUPPORT_CUH_
