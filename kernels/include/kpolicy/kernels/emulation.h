// CPU emulation of the arithmetic of each GPU GEMV variant, so that the
// numerical difference between variants (and against the fp64 reference)
// can be predicted, and a CUDA kernel checked, on a machine without a GPU.
//
//  - Float path (Legacy, Wide, Vectorized, Mwv): weights dequantised to
//    float exactly as ggml's dequantisers do, times fp32 activations, fused
//    multiply-add into fp32 accumulators; optionally split over lanes and
//    combined by a butterfly, the shape of a warp reduction.
//  - DP4A path (MwvDp4a, HwDp4a, Q6_K Dp4a): activations quantised to Q8_1
//    per 32 first; per sub-block an exact int32 dot product of the quants,
//    then scaled in float by the Q8_1 d, the sub-block scale and the
//    super-block d (and, for Q4_K, the min term from the Q8_1 sum s), as
//    llama.cpp's vec_dot_q4_K_q8_1 / vec_dot_q6_K_q8_1 do.
//  - FP8 path (fp8 prefill/decode): activations scaled per tensor to E4M3,
//    products of two E4M3 values (exact in fp32), fp32 sums, both scales
//    applied at the end as a cuBLASLt FP8 epilogue does.
//
// The integer parts are exact whatever the order; the float parts follow
// the order documented on each function, so a kernel that sums in the same
// order matches bit for bit, and one that does not matches to a few ulps.
//
// Thread-safety: pure functions.
#ifndef KPOLICY_KERNELS_EMULATION_H_
#define KPOLICY_KERNELS_EMULATION_H_

#include <cstdint>
#include <span>
#include <vector>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

// ---- Float-activation path ------------------------------------------------

struct FloatPathOptions {
  // Lane l accumulates the chunks c with c % lanes == l, each chunk being
  // `chunk` consecutive weights; the lanes' partial sums are then combined
  // by a butterfly (v[i] += v[i ^ offset] for offset = lanes/2 .. 1), as a
  // __shfl_xor reduction does. lanes must be a power of two; 1 gives one
  // sequential sum over k.
  int lanes = 1;
  int chunk = 1;
};

// y (M x N) = x (M x K) * W^T in the float path's arithmetic. Any format;
// for FP8 the per-tensor scale multiplies the fp32 sum once at the end.
std::vector<float> EmulateFloatPath(const WeightView& weights, std::span<const float> x, int64_t m,
                                    const FloatPathOptions& options = {});

// ---- DP4A path -----------------------------------------------------------

// Where the Q4_K min term gets the sum of the activations from.
enum class Q4KMinTerm {
  kQ8Sum,    // the block's bf16 s (llama.cpp's mmq vec_dot_q4_K_q8_1_impl_mmq)
  kQuantSum, // fp16(d8) * sum(qs) via dp4a with 0x01010101 (the mmvq impl_vmmq)
};

struct Dp4aOptions {
  Q8SumSource sum_source = Q8SumSource::kQuantSum;
  Q4KMinTerm min_term = Q4KMinTerm::kQ8Sum;
};

bool SupportsDp4a(WeightFormat format);  // Q4_K and Q6_K

// One Q4_K block against the 8 Q8_1 blocks of the same 256 activations:
//   sum_d = sum_j fp16(d8_j) * float(isum_j * sc_j)     j = 0..7 in order
//   sum_m = sum_j bf16(s_j) * m_j                        (kQ8Sum), or
//           sum_j fp16(d8_j) * float(qsum_j * m_j)       (kQuantSum)
//   dot   = fp16(d) * sum_d - fp16(dmin) * sum_m
// with isum_j = sum of q4 * q8 over sub-block j (int32, exact).
float DotQ4KQ8_1(const BlockQ4K& weights, std::span<const BlockQ8_1, 8> activations,
                 Q4KMinTerm min_term = Q4KMinTerm::kQ8Sum);

// One Q6_K block against 8 Q8_1 blocks:
//   dot = fp16(d) * sum_j fp16(d8_{j/2}) * float(isum_j * scale_j)   j = 0..15
// with isum_j = sum of (q6 - 32) * q8 over the 16 weights of sub-block j.
float DotQ6KQ8_1(const BlockQ6K& weights, std::span<const BlockQ8_1, 8> activations);

// The M activation rows as Q8_1, K/32 blocks per row. Precondition:
// x.size() == m * k, k % 32 == 0.
std::vector<BlockQ8_1> QuantizeActivations(std::span<const float> x, int64_t m, int64_t k,
                                           Q8SumSource sum_source = Q8SumSource::kQuantSum);

// y (M x N) from pre-quantised activations: per output, the block dot
// products summed in float in block order. Precondition: SupportsDp4a.
std::vector<float> Dp4aGemv(const WeightView& weights, std::span<const BlockQ8_1> activations,
                            int64_t m, Q4KMinTerm min_term = Q4KMinTerm::kQ8Sum);

// QuantizeActivations then Dp4aGemv.
std::vector<float> EmulateDp4aPath(const WeightView& weights, std::span<const float> x, int64_t m,
                                   const Dp4aOptions& options = {});

// ---- FP8 path ------------------------------------------------------------

// Precondition: weights.format == kFp8E4M3. The M x K activations get one
// per-tensor scale (absmax/448), are encoded as E4M3, and
// y = (sum_k decode(w) * decode(x) in fp32, in k order) * (w_scale * x_scale).
std::vector<float> EmulateFp8Path(const WeightView& weights, std::span<const float> x, int64_t m);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_EMULATION_H_
