// What the GPU benchmarks share: a benchmark has no caller to return an error
// to, so OrExit turns a failed Expected (a launch's Status, or a CUDA call's
// through KPOLICY_CUDA_STATUS, which names the call and its file:line) into
// a message on stderr and exit status 1.
#ifndef KPOLICY_TOOLS_BENCH_SUPPORT_CUH_
#define KPOLICY_TOOLS_BENCH_SUPPORT_CUH_

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::bench {

[[noreturn]] inline void ExitWith(const Error& error, const char* what) {
  std::fprintf(stderr, "%s%s%s\n", what ? what : "", what ? ": " : "", error.ToString().c_str());
  std::exit(1);
}

// The value of `result`, or the error on stderr and exit(1). `what`, when
// given, prefixes the message.
template <typename T>
T OrExit(Expected<T> result, const char* what = nullptr) {
  if (!result.ok()) ExitWith(result.error(), what);
  return std::move(result).value();
}
inline void OrExit(const Status& status, const char* what = nullptr) {
  if (!status.ok()) ExitWith(status.error(), what);
}

// A cudaMalloc'd buffer freed on destruction; exits on failure.
struct DeviceMemory {
  void* ptr = nullptr;
  explicit DeviceMemory(size_t bytes) { OrExit(KPOLICY_CUDA_STATUS(cudaMalloc(&ptr, bytes))); }
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
