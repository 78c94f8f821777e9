#include "kpolicy/kernels/cuda_status.h"

#include <cuda_runtime_api.h>

namespace kpolicy::kernels::gpu {

std::string CudaStatus::ToString() const {
  if (ok()) return "ok";
  const cudaError_t error = static_cast<cudaError_t>(code);
  std::string out;
  if (file != nullptr) out += std::string(file) + ":" + std::to_string(line) + ": ";
  if (what != nullptr) out += std::string(what) + ": ";
  out += std::string(cudaGetErrorName(error)) + " (" + cudaGetErrorString(error) + ")";
  return out;
}

}  // namespace kpolicy::kernels::gpu
