// The one CUDA check of kpolicy: a failed CUDA runtime call (or, inside the
// GEMM paths, a cuBLAS call: gemm_common.cuh adds that overload) becomes a
// Status holding an Error with code kDevice and the message
// "FILE:LINE: EXPR: cudaErrorName (description)", so a failure says which
// call failed where, as a value, never as an exception or a process exit.
//
//   KPOLICY_CUDA_CHECK(cudaMalloc(&p, bytes));   // returns the failure from
//                                                // a function returning Status
//                                                // or Expected<T>
//   Status s = KPOLICY_CUDA_STATUS(cudaDeviceSynchronize());  // the value
//   KPOLICY_CHECK_ARG(k % 256 == 0);             // kInvalidArgument, file:line
//
// KPOLICY_TRY (kpolicy/expected.h) propagates any other failure. Only
// translation units that call CUDA include this header (it includes
// cuda_runtime_api.h); the kernels' public APIs stay CUDA-free.
//
// Thread-safety: the functions are pure (cudaGetErrorName/String never touch
// a device). Cost: nothing on success beyond the comparison.
#ifndef KPOLICY_KERNELS_CUDA_CHECK_H_
#define KPOLICY_KERNELS_CUDA_CHECK_H_

#include <cuda_runtime_api.h>

#include "kpolicy/expected.h"

namespace kpolicy::kernels::gpu {

// Error{kDevice, "FILE:LINE: EXPR: cudaErrorName (description)"}.
Error CudaCallError(cudaError_t error, const char* file, int line, const char* expr);

inline Status DeviceCallStatus(cudaError_t error, const char* file, int line, const char* expr) {
  if (error == cudaSuccess) return {};
  return Fail(CudaCallError(error, file, line, expr));
}

// Error{kInvalidArgument, "FILE:LINE: invalid argument: CONDITION"}.
Error ArgumentError(const char* file, int line, const char* condition);

}  // namespace kpolicy::kernels::gpu

// The Status of a CUDA (or, where gemm_common.cuh is included, cuBLAS) call.
#define KPOLICY_CUDA_STATUS(expr) ::kpolicy::kernels::gpu::DeviceCallStatus((expr), __FILE__, __LINE__, #expr)

// Evaluates the call; on failure returns its Error from the enclosing function.
#define KPOLICY_CUDA_CHECK(expr) KPOLICY_TRY(KPOLICY_CUDA_STATUS(expr))

// An argument check: on failure returns Error{kInvalidArgument} naming the
// violated condition and this file:line.
#define KPOLICY_CHECK_ARG(cond)                                                            \
  do {                                                                                     \
    if (!(cond)) return ::kpolicy::Fail(::kpolicy::kernels::gpu::ArgumentError(__FILE__, __LINE__, #cond)); \
  } while (0)

#endif  // KPOLICY_KERNELS_CUDA_CHECK_H_
