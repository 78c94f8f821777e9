// CudaStatus: the error value every kpolicy CUDA entry point returns, so that
// a failed launch or allocation surfaces as a value carrying the CUDA error
// code and the file:line of the call that failed, never as an exception or a
// process exit. CUDA-free: callers need not include a CUDA header.
//
// Thread-safety: a value type.
#ifndef KPOLICY_KERNELS_CUDA_STATUS_H_
#define KPOLICY_KERNELS_CUDA_STATUS_H_

#include <string>

namespace kpolicy::kernels::gpu {

struct CudaStatus {
  int code = 0;                // a cudaError_t value; 0 is cudaSuccess
  const char* file = nullptr;  // where the failing call is (static storage)
  int line = 0;
  const char* what = nullptr;  // the failing expression or argument check (static storage)

  bool ok() const { return code == 0; }
  // "FILE:LINE: WHAT: cudaErrorName (description)", or "ok". Calls
  // cudaGetErrorName/String, which never touch a device.
  std::string ToString() const;
};

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_CUDA_STATUS_H_
