// GemmContext: what the GEMM paths (gemm_paths.h) need besides the weights:
// the cuBLAS and cuBLASLt handles, the workspace both libraries may use, a
// scratch area for activations in FP8/FP16 and for split-K partial sums, the
// device's compute capability, and cached cuBLASLt plans (descriptors plus
// the heuristic's algorithm, per shape). Nothing of this is global: a caller
// creates one context per stream and passes it to every call.
//
// Also the capability checks of the paths, as pure functions of (major,
// minor), so that the error a too-old device gets can be tested anywhere.
//
// CUDA-free: handles are opaque pointers, the stream a StreamHandle as in
// gemv_variants.h, errors Status values (Error kDevice whose message names the
// failing call and its CUDA or cuBLAS status, e.g. CUBLAS_STATUS_NOT_SUPPORTED).
//
// Thread-safety: an instance is used by one thread at a time (calls enqueue
// on its stream and may grow its scratch); distinct instances are
// independent. Move-only.
#ifndef KPOLICY_KERNELS_GEMM_CONTEXT_H_
#define KPOLICY_KERNELS_GEMM_CONTEXT_H_

#include <cstdint>
#include <memory>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_launch.h"

namespace kpolicy::kernels::gpu {

// cuBLASLt's recommendation for Hopper is 32 MiB; smaller workspaces only
// narrow the algorithms the heuristic may return.
inline constexpr int64_t kDefaultGemmWorkspaceBytes = int64_t{32} << 20;

// FP8 E4M3 tensor cores exist from compute capability 8.9 (Ada) on. Returns
// ok for (major, minor) >= (8, 9), else Error kUnsupported saying
// "FP8 needs compute capability 8.9+, this device is X.Y". Pure; O(1).
Status CheckFp8Capability(int cc_major, int cc_minor);

// The W4A16 path's WMMA m16n16k16 FP16 instructions need sm_70+. Returns ok
// for major >= 7, else Error kUnsupported saying "W4A16 needs
// compute capability 7.0+ (FP16 tensor cores, WMMA), this device is X.Y".
Status CheckW4a16Capability(int cc_major, int cc_minor);

class GemmContext {
 public:
  // Creates the cuBLAS and cuBLASLt handles bound to `stream`, a workspace of
  // `workspace_bytes` (cublasSetWorkspace and every cublasLtMatmul use it),
  // and reads the current device's compute capability and SM count.
  // Cost: handle creation (milliseconds, loads the libraries' kernels) and
  // one cudaMalloc.
  static Expected<GemmContext> Create(StreamHandle stream = nullptr,
                                                  int64_t workspace_bytes = kDefaultGemmWorkspaceBytes);

  GemmContext(GemmContext&&) noexcept;
  GemmContext& operator=(GemmContext&&) noexcept;
  ~GemmContext();

  StreamHandle stream() const;
  int cc_major() const;
  int cc_minor() const;
  int sm_count() const;

  // Internal to kpolicy_gemm_cuda's implementation (opaque here).
  struct State;
  State& state() { return *state_; }
  const State& state() const { return *state_; }

 private:
  explicit GemmContext(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMM_CONTEXT_H_
