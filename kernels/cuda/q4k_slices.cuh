// Internal to kpolicy_kernels: how each Q4_K GEMV variant's threads read
// and multiply one BlockQ4K (144 bytes: d, dmin, scales[12], qs[128]). The
// variants' kernel files pick one of these Ops and a launch shape.
//
// Index map shared by all Ops (kernels/README.md, kernels/src/q4_k.cpp):
// qs byte 32g + l (g = 0..3, l = 0..31) holds weight 64g + l in its low
// nibble (sub-block 2g) and weight 64g + 32 + l in its high nibble
// (sub-block 2g + 1). So a thread that reads qs bytes [32g + p, 32g + p + w)
// needs sub-blocks 2g and 2g+1 and activations [64g + p, +w) and
// [64g + 32 + p, +w) of the super-block.
#ifndef KPOLICY_KERNELS_CUDA_Q4K_SLICES_CUH_
#define KPOLICY_KERNELS_CUDA_Q4K_SLICES_CUH_

#include "gemv_common.cuh"

namespace kpolicy::kernels::gpu::detail {

// The 16-byte block header: d | dmin << 16, then scales[0..3], [4..7], [8..11].
struct Q4kHeader {
  uint32_t d_dmin, s0, s1, s2;
};

struct Q4kScalesPair {
  float d, dmin;
  int sc0, m0, sc1, m1;  // 6-bit scale and min of sub-blocks 2g and 2g+1
};

// Q4KScaleMin for sub-blocks j = 2g and 2g+1 (kernels/src/q4_k.cpp):
//   j < 4:  sc = scales[j] & 63,                       m = scales[j+4] & 63
//   j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,
//           m  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
// With i = j & 3: scales[j] (j<4) and scales[j-4] (j>=4) are byte i of s0;
// scales[j+4] (j<4) and scales[j] (j>=4) are byte i of s1; scales[j+4]
// (j>=4) is byte i of s2.
__device__ __forceinline__ Q4kScalesPair DecodeQ4kScales(const Q4kHeader& h, int g) {
  Q4kScalesPair r;
  r.d = HalfBitsToFloat(h.d_dmin);
  r.dmin = HalfBitsToFloat(h.d_dmin >> 16);
  const int shift = 16 * (g & 1);  // byte i = 2g & 3 = 2(g & 1); i + 1 for sub-block 2g+1
  const uint32_t a = h.s0 >> shift, b = h.s1 >> shift, c = h.s2 >> shift;
  if (g < 2) {
    r.sc0 = a & 63;
    r.m0 = b & 63;
    r.sc1 = (a >> 8) & 63;
    r.m1 = (b >> 8) & 63;
  } else {
    r.sc0 = (c & 15) | (((a >> 6) & 3) << 4);
    r.m0 = ((c >> 4) & 15) | (((b >> 6) & 3) << 4);
    r.sc1 = ((c >> 8) & 15) | (((a >> 14) & 3) << 4);
    r.m1 = ((c >> 12) & 15) | (((b >> 14) & 3) << 4);
  }
  return r;
}

__device__ __forceinline__ Q4kHeader LoadQ4kHeader(const uint8_t* block) {
  const uint4 v = LoadWeightsU4(block);
  return {v.x, v.y, v.z, v.w};
}

__device__ __forceinline__ int Dp4a(uint32_t a, int b, int c) {
  return __dp4a(static_cast<int>(a), b, c);
}

// ---- 16-byte slices: 8 threads per super-block ------------------------------
//
// Q4kSlice8Op is named by its thread shape, not a variant: Vectorized, Mwv,
// HwDp4a and the fused gate/up kernel instantiate it, each under its own
// alias (Q4kVectorizedOp, Q4kMwvOp, Q4kHwDp4aOp, FusedGateUpQ4kHwDp4aOp) in
// its kernel file.
// Thread `slice` (0..7) of a super-block reads qs bytes [16*slice, +16): group
// g = slice/2, half hh = slice%2, i.e. 16 low nibbles of sub-block 2g
// (weights 64g + 16hh + 0..15) and the 16 high nibbles of sub-block 2g+1
// (weights 64g + 32 + 16hh + 0..15), with one 16-byte load; the header is one
// more 16-byte load (the 8 threads of a block read the same 16 bytes).
// kDp4a: the activations are Q8_1 (two 16-byte loads of qs and one 8-byte
// load of the two blocks' (d, s) per row); else float (eight float4 loads).
// kOutputs == 2 reads a second matrix (w1) at the same position: gate and up.
// kInFlight_: super-blocks whose loads a thread issues before using the first
// (two by default; one in 1024-thread blocks, for registers).
template <bool kDp4a, int kLanes, int kOutputs_, int kMaxThreads_,
          int kInFlight_ = (kMaxThreads_ <= 256 ? 2 : 1)>
struct Q4kSlice8Op {
  static constexpr int kSliceThreads = 8;
  static constexpr int kTeamLanes = kLanes;
  static constexpr int kOutputs = kOutputs_;
  static constexpr int kMaxThreads = kMaxThreads_;
  static constexpr int kInFlight = kInFlight_;

  struct Frag {
    Q4kHeader head[kOutputs];
    uint4 qs[kOutputs];
  };

  __device__ __forceinline__ static Frag Load(const GemvParams& p, int64_t row_offset, int sb,
                                              int slice) {
    Frag f;
#pragma unroll
    for (int o = 0; o < kOutputs; ++o) {
      const uint8_t* block = (o == 0 ? p.w0 : p.w1) + row_offset +
                             static_cast<int64_t>(sb) * kQ4KBlockBytes;
      f.head[o] = LoadQ4kHeader(block);
      f.qs[o] = LoadWeightsU4(block + 16 + 16 * slice);
    }
    return f;
  }

  template <int M>
  __device__ __forceinline__ static void Compute(const Frag& f, const GemvParams& p, int sb,
                                                 int slice, float (&acc)[kOutputs][M]) {
    const int g = slice >> 1, hh = slice & 1;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 64 * g + 16 * hh;
    if constexpr (kDp4a) {
      Q4kScalesPair s[kOutputs];
      uint32_t lo[kOutputs][4], hi[kOutputs][4];
#pragma unroll
      for (int o = 0; o < kOutputs; ++o) {
        s[o] = DecodeQ4kScales(f.head[o], g);
        const uint32_t q[4] = {f.qs[o].x, f.qs[o].y, f.qs[o].z, f.qs[o].w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          lo[o][i] = q[i] & 0x0F0F0F0Fu;
          hi[o][i] = (q[i] >> 4) & 0x0F0F0F0Fu;
        }
      }
      const int64_t ds0 = static_cast<int64_t>(sb) * 8 + 2 * g;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int8_t* q8 = p.act.q8 + m * p.act.k + k0;
        const int4 a = __ldg(reinterpret_cast<const int4*>(q8));
        const int4 b = __ldg(reinterpret_cast<const int4*>(q8 + 32));
        const uint2 ds = __ldg(reinterpret_cast<const uint2*>(p.act.ds + m * (p.act.k / 32) + ds0));
        const float d8_0 = HalfBitsToFloat(ds.x), s8_0 = Q8SumOfDsWord(ds.x);
        const float d8_1 = HalfBitsToFloat(ds.y), s8_1 = Q8SumOfDsWord(ds.y);
#pragma unroll
        for (int o = 0; o < kOutputs; ++o) {
          const int i0 = Dp4a(lo[o][3], a.w, Dp4a(lo[o][2], a.z,
                         Dp4a(lo[o][1], a.y, Dp4a(lo[o][0], a.x, 0))));
          const int i1 = Dp4a(hi[o][3], b.w, Dp4a(hi[o][2], b.z,
                         Dp4a(hi[o][1], b.y, Dp4a(hi[o][0], b.x, 0))));
          const float sum_d = d8_0 * static_cast<float>(i0 * s[o].sc0) +
                              d8_1 * static_cast<float>(i1 * s[o].sc1);
          // The min term uses the Q8_1 block sum s (Q4KMinTerm::kQ8Sum), which
          // covers all 32 activations of the block: the hh == 0 thread of the
          // pair that shares a block adds it, once.
          const float sum_m = hh == 0 ? s8_0 * static_cast<float>(s[o].m0) +
                                            s8_1 * static_cast<float>(s[o].m1)
                                      : 0.0f;
          acc[o][m] += s[o].d * sum_d - s[o].dmin * sum_m;
        }
      }
    } else {
      static_assert(kOutputs == 1, "the float path has no fused form");
      const Q4kScalesPair s = DecodeQ4kScales(f.head[0], g);
      // ggml's dequantiser: (d*sc)*q - dmin*m; d*sc and dmin*m are exact.
      const float dsc0 = s.d * static_cast<float>(s.sc0), dm0 = s.dmin * static_cast<float>(s.m0);
      const float dsc1 = s.d * static_cast<float>(s.sc1), dm1 = s.dmin * static_cast<float>(s.m1);
      const uint32_t q[4] = {f.qs[0].x, f.qs[0].y, f.qs[0].z, f.qs[0].w};
      // Four weights of each sub-block at a time, for all M rows: the live
      // set stays 8 weights + 8 activations + M sums.
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t l = q[i] & 0x0F0F0F0Fu, h = (q[i] >> 4) & 0x0F0F0F0Fu;
        float w0[4], w1[4];
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          w0[b] = fmaf(dsc0, ByteToFloat(l, b), -dm0);
          w1[b] = fmaf(dsc1, ByteToFloat(h, b), -dm1);
        }
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float4* x = reinterpret_cast<const float4*>(p.act.x + m * p.act.k + k0);
          const float4 a = __ldg(x + i);      // weights 64g + 16hh + 4i ..
          const float4 b = __ldg(x + 8 + i);  // weights 64g + 32 + 16hh + 4i ..
          float sum = acc[0][m];
          sum = fmaf(w0[0], a.x, sum);
          sum = fmaf(w0[1], a.y, sum);
          sum = fmaf(w0[2], a.z, sum);
          sum = fmaf(w0[3], a.w, sum);
          sum = fmaf(w1[0], b.x, sum);
          sum = fmaf(w1[1], b.y, sum);
          sum = fmaf(w1[2], b.z, sum);
          sum = fmaf(w1[3], b.w, sum);
          acc[0][m] = sum;
        }
      }
    }
  }

  __device__ __forceinline__ static float Finish(const float (&v)[kOutputs]) {
    if constexpr (kOutputs == 2) {
      const float g = v[0];
      // silu(gate) * up. __fdividef: an IEEE division would call a slow-path
      // subroutine (and spill around the call); for g < -88, 1 + expf(-g) is
      // +inf and the quotient is 0, silu's limit.
      return __fdividef(g, 1.0f + expf(-g)) * v[1];
    } else {
      return v[0];
    }
  }
};

// ---- 4-byte slices: 32 threads per super-block --------------------------------
//
// Q4kSlice32Op: Legacy, Wide and MwvDp4a instantiate it (Q4kLegacyOp,
// Q4kWideOp, Q4kMwvDp4aOp in their kernel files).
// Thread `slice` (0..31) reads the qs word at 4*slice: g = slice/8, c =
// slice%8, i.e. weights 64g + 4c + 0..3 (low nibbles, sub-block 2g) and
// 64g + 32 + 4c + 0..3 (high nibbles, sub-block 2g+1).
//  - kDp4a == false (Legacy, Wide): float activations read as scalars, the
//    header read by every thread (L1 broadcast).
//  - kDp4a == true (MwvDp4a): a warp is one super-block, so lanes 0..3 load
//    the four header words and __shfl_sync broadcasts them to the warp.
template <bool kDp4a, int kMaxThreads_>
struct Q4kSlice32Op {
  static constexpr int kSliceThreads = 32;
  static constexpr int kTeamLanes = 32;
  static constexpr int kOutputs = 1;
  static constexpr int kMaxThreads = kMaxThreads_;
  static constexpr int kInFlight = kMaxThreads_ <= 256 ? 2 : 1;

  struct Frag {
    Q4kHeader head;
    uint32_t qs;
  };

  __device__ __forceinline__ static Frag Load(const GemvParams& p, int64_t row_offset, int sb,
                                              int slice) {
    const uint8_t* block = p.w0 + row_offset + static_cast<int64_t>(sb) * kQ4KBlockBytes;
    Frag f;
    f.qs = LoadWeightsU32(block + 16 + 4 * slice);
    if constexpr (kDp4a) {
      // slice == lane: the team is whole warps and a warp shares one block.
      const uint32_t word = LoadWeightsU32(block + 4 * (slice & 3));
      f.head.d_dmin = __shfl_sync(0xFFFFFFFFu, word, 0);
      f.head.s0 = __shfl_sync(0xFFFFFFFFu, word, 1);
      f.head.s1 = __shfl_sync(0xFFFFFFFFu, word, 2);
      f.head.s2 = __shfl_sync(0xFFFFFFFFu, word, 3);
    } else {
      f.head.d_dmin = LoadWeightsU32(block);
      f.head.s0 = LoadWeightsU32(block + 4);
      f.head.s1 = LoadWeightsU32(block + 8);
      f.head.s2 = LoadWeightsU32(block + 12);
    }
    return f;
  }

  template <int M>
  __device__ __forceinline__ static void Compute(const Frag& f, const GemvParams& p, int sb,
                                                 int slice, float (&acc)[1][M]) {
    const int g = slice >> 3, c = slice & 7;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 64 * g + 4 * c;
    const Q4kScalesPair s = DecodeQ4kScales(f.head, g);
    const uint32_t lo = f.qs & 0x0F0F0F0Fu, hi = (f.qs >> 4) & 0x0F0F0F0Fu;
    if constexpr (kDp4a) {
      const int64_t ds0 = static_cast<int64_t>(sb) * 8 + 2 * g;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int8_t* q8 = p.act.q8 + m * p.act.k + k0;
        const int a = __ldg(reinterpret_cast<const int*>(q8));
        const int b = __ldg(reinterpret_cast<const int*>(q8 + 32));
        const uint2 ds = __ldg(reinterpret_cast<const uint2*>(p.act.ds + m * (p.act.k / 32) + ds0));
        const float sum_d = HalfBitsToFloat(ds.x) * static_cast<float>(Dp4a(lo, a, 0) * s.sc0) +
                            HalfBitsToFloat(ds.y) * static_cast<float>(Dp4a(hi, b, 0) * s.sc1);
        // kQ8Sum min term, added once per Q8_1 block (by the c == 0 lane).
        const float sum_m = c == 0 ? Q8SumOfDsWord(ds.x) * static_cast<float>(s.m0) +
                                         Q8SumOfDsWord(ds.y) * static_cast<float>(s.m1)
                                   : 0.0f;
        acc[0][m] += s.d * sum_d - s.dmin * sum_m;
      }
    } else {
      const float dsc0 = s.d * static_cast<float>(s.sc0), dm0 = s.dmin * static_cast<float>(s.m0);
      const float dsc1 = s.d * static_cast<float>(s.sc1), dm1 = s.dmin * static_cast<float>(s.m1);
      float w0[4], w1[4];
#pragma unroll
      for (int b = 0; b < 4; ++b) {
        w0[b] = fmaf(dsc0, ByteToFloat(lo, b), -dm0);
        w1[b] = fmaf(dsc1, ByteToFloat(hi, b), -dm1);
      }
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const float* x = p.act.x + m * p.act.k + k0;
        float sum = acc[0][m];
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          sum = fmaf(w0[b], __ldg(x + b), sum);
          sum = fmaf(w1[b], __ldg(x + 32 + b), sum);
        }
        acc[0][m] = sum;
      }
    }
  }

  __device__ __forceinline__ static float Finish(const float (&v)[1]) { return v[0]; }
};

// ---- Ring lanes: 4 lanes per super-block, activations in registers (gemv_ring.cuh) ----------
//
// Lane `part` (g = part) owns qs bytes [32g, 32g+32) of its super-block (all 64 weights of
// sub-blocks 2g and 2g+1) in every row; its 64 Q8_1 codes and the two blocks' ds words stay in
// registers for the whole kernel. (A float-activation op of the same shape measured slower than
// q4k Mwv's v3 kernel and was dropped: kernels/cuda/PERF_NOTES.md, "Ring".)
template <int M>
struct Q4kRingDp4aAct {
  int lo[M][8], hi[M][8];  // Q8_1 codes of weights 64g + 0..31 and 64g + 32..63
  uint32_t ds0[M], ds1[M]; // the two blocks' d | s words
};

// Q4_K HwDp4a on the ring: L = 4, the lane's sub-blocks 2g and 2g+1 whole: the same integer sums
// and float expression as Q4kSlice8Op's DP4A path (both sub-blocks' min terms read the Q8_1
// block sums s: Q4KMinTerm::kQ8Sum), evaluated once per row and lane: kRowRoundings = 4.
struct Q4kRingDp4aOp {
  static constexpr int kBlockBytes = kQ4KBlockBytes;
  static constexpr int kMaxM = 4;
  template <int M>
  static constexpr int kLanesPerBlock = 4;
  template <int M>
  using Act = Q4kRingDp4aAct<M>;

  template <int M>
  __device__ __forceinline__ static void LoadAct(Act<M>& a, const Activations& act, int sb, int part) {
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 64 * part;
#pragma unroll
    for (int m = 0; m < M; ++m) {
      const int4* q = reinterpret_cast<const int4*>(act.q8 + m * act.k + k0);
#pragma unroll
      for (int v = 0; v < 2; ++v) {
        const int4 lo = __ldg(q + v), hi = __ldg(q + 2 + v);
        a.lo[m][4 * v] = lo.x, a.lo[m][4 * v + 1] = lo.y, a.lo[m][4 * v + 2] = lo.z, a.lo[m][4 * v + 3] = lo.w;
        a.hi[m][4 * v] = hi.x, a.hi[m][4 * v + 1] = hi.y, a.hi[m][4 * v + 2] = hi.z, a.hi[m][4 * v + 3] = hi.w;
      }
      const uint2 ds = __ldg(reinterpret_cast<const uint2*>(act.ds + m * (act.k / 32) + sb * 8 + 2 * part));
      a.ds0[m] = ds.x;
      a.ds1[m] = ds.y;
    }
  }

  template <int M>
  __device__ __forceinline__ static void Row(const uint8_t* block, const Act<M>& a, int part, float (&acc)[M]) {
    const uint4 h = *reinterpret_cast<const uint4*>(block);
    const uint4 q0 = *reinterpret_cast<const uint4*>(block + 16 + 32 * part);
    const uint4 q1 = *reinterpret_cast<const uint4*>(block + 32 + 32 * part);
    const uint32_t q[8] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
    const Q4kScalesPair s = DecodeQ4kScales(Q4kHeader{h.x, h.y, h.z, h.w}, part);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      int i0a = 0, i0b = 0, i1a = 0, i1b = 0;  // four independent chains (exact integer sums)
#pragma unroll
      for (int j = 0; j < 8; j += 2) {
        i0a = Dp4a(q[j] & 0x0F0F0F0Fu, a.lo[m][j], i0a);
        i0b = Dp4a(q[j + 1] & 0x0F0F0F0Fu, a.lo[m][j + 1], i0b);
        i1a = Dp4a((q[j] >> 4) & 0x0F0F0F0Fu, a.hi[m][j], i1a);
        i1b = Dp4a((q[j + 1] >> 4) & 0x0F0F0F0Fu, a.hi[m][j + 1], i1b);
      }
      const int i0 = i0a + i0b, i1 = i1a + i1b;
      const float sum_d = HalfBitsToFloat(a.ds0[m]) * static_cast<float>(i0 * s.sc0) +
                          HalfBitsToFloat(a.ds1[m]) * static_cast<float>(i1 * s.sc1);
      const float sum_m = Q8SumOfDsWord(a.ds0[m]) * static_cast<float>(s.m0) +
                          Q8SumOfDsWord(a.ds1[m]) * static_cast<float>(s.m1);
      acc[m] += s.d * sum_d - s.dmin * sum_m;
    }
  }
};

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_Q4K_SLICES_CUH_
