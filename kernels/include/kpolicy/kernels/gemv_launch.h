// The GPU launch functions that go with the GEMV variants (the variants
// themselves are rows of gemv_variants.h): the Q8_1 activation quantiser that
// the DP4A variants read, and the fused gate+up+SwiGLU kernel of the HwDp4a
// path. Present only in builds with CUDA (kpolicy_kernels compiled with
// nvcc); CUDA-free to include. Shapes, numerics and cost conventions are
// gemv_variants.h's; errors are Status values (kpolicy/expected.h): code
// kInvalidArgument for a bad argument, kDevice for a failed CUDA call.
//
// Thread-safety: launch functions keep no state and may be called
// concurrently on different streams.
#ifndef KPOLICY_KERNELS_GEMV_LAUNCH_H_
#define KPOLICY_KERNELS_GEMV_LAUNCH_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"

namespace kpolicy::kernels::gpu {

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
Status LaunchQuantizeQ8_1(const float* x, int m, int64_t k, void* x_q8, StreamHandle stream);

// Host-side: the planar bytes (copied back from the device) as BlockQ8_1s,
// M*K/32 blocks in row order, for comparison with QuantizeQ8_1. Precondition:
// planar.size() == Q8_1ActivationBytes(m, k).
std::vector<BlockQ8_1> Q8_1PlanarToBlocks(std::span<const uint8_t> planar, int m, int64_t k);

// ---- Fused gate + up + SwiGLU (the FFN input of the HwDp4a and Mwv paths) ------

struct FusedGateUpArgs {
  const void* gate = nullptr;  // device: N x K BlockQ4K, 16-byte aligned
  const void* up = nullptr;    // device: N x K BlockQ4K, 16-byte aligned
  const void* x_q8 = nullptr;  // device: LaunchQuantizeQ8_1's output, M x K (HwDp4a)
  const float* x = nullptr;    // device: M x K floats, 16-byte aligned (Mwv)
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
// On sm_90 at M <= 4 the ring (kernels/cuda/gemv_ring.cuh) reads both matrices' rows into
// one stage instead, with the same numerics per product.
Status LaunchFusedGateUpQ4kHwDp4a(const FusedGateUpArgs& args);

// The same product with the q4k Mwv row's arithmetic and mapping (float activations read from
// args.x, fp32 sums; q4k_mwv_v3.cu): each warp loads 2 gate and 2 up rows per step, so every
// activation float4 serves 4 rows as in the unfused kernel. Numerics: each dot product is
// within the float path's bound (gemv_variants.h); silu as above.
Status LaunchFusedGateUpQ4kMwv(const FusedGateUpArgs& args);

// ---- Baselines outside the variant table -----------------------------------------

// Q4_K Mwv as it was before issue 12 (v1: mwv_warps warps per row, 8 threads per super-block,
// float activations), for bench_gemv's "Mwv (v1)" row and as the table's Mwv fallback where
// M * K/32 sub-block sums exceed its shared memory. Same contract and numerics class as the
// table's q4k Mwv row (gemv_variants.h, float activations).
Status LaunchQ4kMwvV1(const GemvArgs& args);

// q4k HwDp4a before the ring (v2's half-warp split launch, q4k_hw_dp4a.cu), which the row still
// launches where the ring does not apply (below sm_90, M >= 5, long rows). For bench_gemv's
// baseline row; same contract and numerics as the row.
Status LaunchQ4kHwDp4aV2(const GemvArgs& args);

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMV_LAUNCH_H_
