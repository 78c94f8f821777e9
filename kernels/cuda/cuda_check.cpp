#include "kpolicy/kernels/cuda_check.h"

#include <string>

namespace kpolicy::kernels::gpu {
namespace {

std::string Where(const char* file, int line) { return std::string(file) + ":" + std::to_string(line) + ": "; }

}  // namespace

Error CudaCallError(cudaError_t error, const char* file, int line, const char* expr) {
  return Error(ErrorCode::kDevice, Where(file, line) + expr + ": " + cudaGetErrorName(error) + " (" +
                                       cudaGetErrorString(error) + ")");
}

Error ArgumentError(const char* file, int line, const char* condition) {
  return Error(ErrorCode::kInvalidArgument, Where(file, line) + "invalid argument: " + condition);
}

}  // namespace kpolicy::kernels::gpu
