// What the GPU benchmarks share: a benchmark has no caller to return an error
// to, so a failed CUDA call or kernel launch prints where and exits.
#ifndef KPOLICY_TOOLS_BENCH_SUPPORT_CUH_
#define KPOLICY_TOOLS_BENCH_SUPPORT_CUH_

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kpolicy/kernels/cuda_status.h"
#include "kpolicy/kernels/workload.h"

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

namespace kpolicy::bench {

// A cudaMalloc'd buffer freed on destruction; exits on failure.
struct DeviceMemory {
  void* ptr = nullptr;
  explicit DeviceMemory(size_t bytes) { BENCH_CHECK(cudaMalloc(&ptr, bytes)); }
  ~DeviceMemory() { cudaFree(ptr); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(ptr); }
};

// Whether a CUDA device is usable; if not, says so on stderr as `tool`.
inline bool HaveCudaDevice(const char* tool) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess && count > 0) return true;
  std::fprintf(stderr, "%s: no CUDA device (cudaGetDeviceCount: %s)\n", tool,
               e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
  return false;
}

// Valid Q4_K / Q6_K blocks at full model size without the quantiser's cost:
// speed does not depend on the values, only on them being finite.
inline std::vector<uint8_t> RandomWeightBytes(kernels::WeightFormat format, int64_t n, int64_t k, uint64_t seed) {
  return kernels::RandomQuantizedWeights(seed, format, n, k).bytes;
}

// `count` N(0, 1) activations.
inline std::vector<float> RandomActivations(int64_t count, uint64_t seed) {
  return kernels::GaussianVector(seed, count);
}

}  // namespace kpolicy::bench

#endif  // KPOLICY_TOOLS_BENCH_SUPPORT_CUH_
