// The CUDA GEMV kernels, one registry per operation: every Q4_K and Q6_K
// variant that a policy can name (policies/default.yaml, knobs q4k and q6k),
// the Q8_1 activation quantiser that the DP4A variants read, and the fused
// gate+up+SwiGLU kernel of the HwDp4a path. The runtime's dispatch, the GPU
// tests (tests/gpu/) and the benchmark (tools/bench/bench_gemv.cu) all read
// the same tables, so a new variant is one kernel file in kernels/cuda/ plus
// one registry line in kernels/cuda/gemv_registry.cpp.
//
// CUDA-free: pointers are device pointers passed as plain pointers, the
// stream is an opaque handle (a cudaStream_t cast to void*; nullptr is the
// legacy default stream), errors are CudaStatus values.
//
// Shapes. W is N x K in GGUF's layout (row n is K/256 consecutive
// BlockQ4K / BlockQ6K), x is M x K row-major float, y is M x N row-major
// float: y[m][n] = sum_k W[n][k] * x[m][k]. M = 1..8 (batched decode), N >= 1,
// K a positive multiple of 256, N * RowBytes < 2^63. Q4_K weights must be
// 16-byte aligned (they are read with 16-byte loads; cudaMalloc gives 256),
// Q6_K weights 2-byte aligned (a 210-byte block allows no more).
//
// Numerics (tests/gpu/ holds every variant to these):
//  - Float-activation variants (quantizes_activations == false) compute
//    each weight as ggml's dequantiser does and accumulate fp32 FMAs; error
//    against the fp64 reference <= (K+4) * 2^-24 * sum_k a_k |x_k|, a_k the
//    magnitude of the weight's terms (|d sc q| + |dmin m| for Q4_K).
//  - DP4A variants read activations quantised by LaunchQuantizeQ8_1 (the
//    same bytes as the CPU QuantizeQ8_1 with Q8SumSource::kQuantSum) and
//    compute the arithmetic of EmulateDp4aPath (Q4KMinTerm::kQ8Sum) up to
//    fp32 summation order; their error against fp64 is the Q8_1 rounding of
//    the activations (0.5% relative on Gaussian data, 10-18% on blocks that
//    hold a massive channel: see kernels/README.md).
//
// Cost. Every GEMV reads W once from device memory (N * K * 4.5/8 bytes for
// Q4_K, N * K * 6.5625/8 for Q6_K) plus x or its Q8_1 form (L1/L2 resident),
// writes M * N floats, and launches one kernel; none allocates, synchronises
// or touches host memory. Launch functions validate their arguments (and
// return cudaErrorInvalidValue for bad ones) and report launch errors; errors
// from the kernel's execution surface at the caller's next synchronisation.
//
// Thread-safety: the tables are immutable; launch functions keep no state and
// may be called concurrently on different streams.
#ifndef KPOLICY_KERNELS_GEMV_REGISTRY_H_
#define KPOLICY_KERNELS_GEMV_REGISTRY_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/cuda_status.h"

namespace kpolicy::kernels::gpu {

using StreamHandle = void*;  // a cudaStream_t; nullptr = the legacy default stream

inline constexpr int kMaxGemvRows = 8;   // M: activation rows per launch
inline constexpr int kMaxMwvWarps = 32;  // mwv_warps: 1..32 (policies/default.yaml)

enum class GemvOp { kQ4K, kQ6K };
std::string_view GemvOpName(GemvOp op);  // "q4k", "q6k": the policy knob's name

struct GemvArgs {
  const void* weights = nullptr;  // device: N x K in GemvVariant::op's block format
  const float* x = nullptr;       // device: M x K floats; read by the float-activation variants
  const void* x_q8 = nullptr;     // device: LaunchQuantizeQ8_1's output for x; read by DP4A variants
  float* y = nullptr;             // device: M x N, every element written
  int64_t n = 0;                  // N, rows of W (outputs)
  int64_t k = 0;                  // K, a multiple of 256
  int m = 1;                      // M, 1..kMaxGemvRows
  int mwv_warps = 3;              // warps per output row, 1..32; read only where uses_mwv_warps
  StreamHandle stream = nullptr;
};

using GemvLaunchFn = CudaStatus (*)(const GemvArgs& args);

struct GemvVariant {
  GemvOp op;
  std::string_view name;        // exactly the policy enum member (q4k: Legacy, Wide, ...)
  int min_cc;                   // lowest compute capability (major*10+minor) it runs on
  bool quantizes_activations;   // true: reads args.x_q8 (run LaunchQuantizeQ8_1 first)
  bool uses_mwv_warps;          // true: args.mwv_warps sets the warps that share one row
  std::string_view mapping;     // one line: how threads map onto rows and blocks
  GemvLaunchFn launch;          // enqueues the GEMV on args.stream
};

// The variants of each operation, in the policy enum's order. Cost: O(1),
// static storage.
std::span<const GemvVariant> Q4kGemvVariants();
std::span<const GemvVariant> Q6kGemvVariants();
std::span<const GemvVariant> GemvVariants(GemvOp op);
// nullptr when `name` is not a variant of `op` (names are case-sensitive).
const GemvVariant* FindGemvVariant(GemvOp op, std::string_view name);

// ---- Q8_1 activations -------------------------------------------------------

// Device layout of quantised activations, planar so that kernels can read
// them with aligned 16-byte loads (a 36-byte BlockQ8_1 is only 4-aligned):
// bytes [0, M*K) hold qs row-major (activation (m, k) at m*K + k); then
// M*K/32 little-endian uint32 words, word m*(K/32) + b holding the block's d
// (fp16, low half) and s (bf16, high half), i.e. BlockQ8_1's first 4 bytes.
int64_t Q8_1ActivationBytes(int m, int64_t k);

// Quantises x (device, M x K floats) into x_q8 (device, Q8_1ActivationBytes
// bytes): per 32 activations d = absmax/127, q = round-half-away(x/d), s =
// d*sum(q), bit for bit what QuantizeQ8_1(..., Q8SumSource::kQuantSum)
// stores. One warp per block of 32; M*K floats read, 1.125*M*K bytes
// written. Preconditions: M >= 1, K a positive multiple of 256.
CudaStatus LaunchQuantizeQ8_1(const float* x, int m, int64_t k, void* x_q8, StreamHandle stream);

// Host-side: the planar bytes (copied back from the device) as BlockQ8_1s,
// M*K/32 blocks in row order, for comparison with QuantizeQ8_1. Precondition:
// planar.size() == Q8_1ActivationBytes(m, k).
std::vector<BlockQ8_1> Q8_1PlanarToBlocks(std::span<const uint8_t> planar, int m, int64_t k);

// ---- Fused gate + up + SwiGLU (the HwDp4a path's FFN input) ------------------

struct FusedGateUpArgs {
  const void* gate = nullptr;  // device: N x K BlockQ4K, 16-byte aligned
  const void* up = nullptr;    // device: N x K BlockQ4K, 16-byte aligned
  const void* x_q8 = nullptr;  // device: LaunchQuantizeQ8_1's output, M x K
  float* y = nullptr;          // device: M x N, y = silu(gate . x) * (up . x)
  int64_t n = 0;
  int64_t k = 0;
  int m = 1;
  StreamHandle stream = nullptr;
};

// One kernel reading both matrices with HwDp4a's thread mapping, so the
// activations are loaded once for both and the two N-vectors never reach
// memory: cost = 2 * N * K * 4.5/8 bytes read, M * N floats written. Each
// product has HwDp4a's numerics; silu(g) = g / (1 + expf(-g)) in fp32.
CudaStatus LaunchFusedGateUpQ4kHwDp4a(const FusedGateUpArgs& args);

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMV_REGISTRY_H_
