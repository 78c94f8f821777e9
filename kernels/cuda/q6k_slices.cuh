// Internal to kpolicy_kernels: how each Q6_K GEMV variant's threads read
// and multiply one BlockQ6K (210 bytes: ql[128], qh[64], scales[16], d).
//
// Index map (kernels/README.md, Q6KQuant in block_formats.h): for half h
// (weights 128h..128h+127), quarter q (0..3) and l = 0..31, weight
// 128h + 32q + l has its low 4 bits in ql[64h + 32(q&1) + l] (low nibble for
// q < 2, high nibble for q >= 2) and its high 2 bits at bit 2q of
// qh[32h + l]; it belongs to sub-block (128h + 32q + l)/16 = 8h + 2q + l/16
// and to Q8_1 block 4h + q of the super-block.
//
// A 210-byte block is only 2-byte aligned, so every multi-byte field is read
// as 16-bit loads (LoadWeightsU32Align2), as ggml's get_int_b2 does.
#ifndef KPOLICY_KERNELS_CUDA_Q6K_SLICES_CUH_
#define KPOLICY_KERNELS_CUDA_Q6K_SLICES_CUH_

#include "gemv_common.cuh"

namespace kpolicy::kernels::gpu::detail {

// The four 6-bit quants (0..63) of weights 128h + 32q + l + 0..3 from the ql
// word at 64h + 32(q&1) + l and the qh word at 32h + l: one byte each.
__device__ __forceinline__ uint32_t Q6kQuants4(uint32_t ql_word, uint32_t qh_word, int q) {
  const uint32_t low = (ql_word >> (4 * (q >> 1))) & 0x0F0F0F0Fu;
  const uint32_t high = ((qh_word >> (2 * q)) & 0x03030303u) << 4;
  return low | high;
}

// Four bytes at a 2-byte-aligned shared-memory address, little-endian.
__device__ __forceinline__ uint32_t SharedU32Align2(const uint8_t* p) {
  const uint16_t* q = reinterpret_cast<const uint16_t*>(p);
  return static_cast<uint32_t>(q[0]) | (static_cast<uint32_t>(q[1]) << 16);
}

__device__ __forceinline__ int8_t SignedByte(uint32_t v, int index) {
  return static_cast<int8_t>((v >> (8 * index)) & 0xFF);
}

// ---- 16 threads per super-block (HwDp4a, Mwv) ---------------------------------
//
// Q6kSlice16Op is named by its thread shape; the variants instantiate it as
// Q6kHwDp4aOp and Q6kMwvOp in their kernel files.
// Thread `slice` (0..15): h = slice/8, c = slice%8, l = 4c..4c+3 in all four
// quarters: ql words at 64h + 4c and 64h + 32 + 4c, the qh word at
// 32h + 4c (16 weights, 12 bytes), the four sub-block scales
// scales[8h + 2q + c/4] (q = 0..3) and d.
template <bool kDp4a, int kLanes, int kMaxThreads_>
struct Q6kSlice16Op {
  static constexpr int kSliceThreads = 16;
  static constexpr int kTeamLanes = kLanes;
  static constexpr int kOutputs = 1;
  static constexpr int kMaxThreads = kMaxThreads_;
  static constexpr int kInFlight = kMaxThreads_ <= 256 ? 2 : 1;

  struct Frag {
    uint32_t ql_a, ql_b, qh;
    uint32_t scales;  // byte q: scales[8h + 2q + c/4]
    uint32_t d;
  };

  __device__ __forceinline__ static Frag Load(const GemvParams& p, int64_t row_offset, int sb,
                                              int slice) {
    const uint8_t* block = p.w0 + row_offset + static_cast<int64_t>(sb) * kQ6KBlockBytes;
    const int h = slice >> 3, c = slice & 7;
    Frag f;
    f.ql_a = LoadWeightsU32Align2(block + 64 * h + 4 * c);
    f.ql_b = LoadWeightsU32Align2(block + 64 * h + 32 + 4 * c);
    f.qh = LoadWeightsU32Align2(block + 128 + 32 * h + 4 * c);
    // scales[8h + 2q .. 8h + 2q + 1] for q = 0..3 are the 8 bytes at 192 + 8h;
    // this thread wants byte c/4 of each pair.
    const uint32_t s01 = LoadWeightsU32Align2(block + 192 + 8 * h);
    const uint32_t s23 = LoadWeightsU32Align2(block + 196 + 8 * h);
    const int sel = c >> 2;  // 0: even bytes, 1: odd bytes
    f.scales = __byte_perm(s01, s23, sel ? 0x7531u : 0x6420u);
    f.d = LoadWeightsU16(block + 208);
    return f;
  }

  // The same Frag from a copy of the block in shared memory (StagedGemvKernel;
  // `block` is 2-byte aligned there too): 11 two-byte shared loads.
  static constexpr int kBlockBytes = kQ6KBlockBytes;
  __device__ __forceinline__ static Frag LoadStaged(const uint8_t* block, int slice) {
    const int h = slice >> 3, c = slice & 7;
    Frag f;
    f.ql_a = SharedU32Align2(block + 64 * h + 4 * c);
    f.ql_b = SharedU32Align2(block + 64 * h + 32 + 4 * c);
    f.qh = SharedU32Align2(block + 128 + 32 * h + 4 * c);
    const uint32_t s01 = SharedU32Align2(block + 192 + 8 * h);
    const uint32_t s23 = SharedU32Align2(block + 196 + 8 * h);
    f.scales = __byte_perm(s01, s23, (c >> 2) ? 0x7531u : 0x6420u);
    f.d = *reinterpret_cast<const uint16_t*>(block + 208);
    return f;
  }

  template <int M>
  __device__ __forceinline__ static void Compute(const Frag& f, const GemvParams& p, int sb,
                                                 int slice, float (&acc)[1][M]) {
    const int h = slice >> 3, c = slice & 7;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 128 * h + 4 * c;
    const float d = HalfBitsToFloat(f.d);
    if constexpr (kDp4a) {
      int v[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t quants = Q6kQuants4(q & 1 ? f.ql_b : f.ql_a, f.qh, q);
        // q - 32 per byte (q = 0..63): setting bit 7 first keeps each byte's
        // subtraction from borrowing; flipping it back gives the two's
        // complement byte (what __vsubss4 gives, in 3 instructions).
        v[q] = static_cast<int>(((quants | 0x80808080u) - 0x20202020u) ^ 0x80808080u);
      }
      const int64_t ds0 = static_cast<int64_t>(sb) * 8 + 4 * h;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int8_t* q8 = p.act.q8 + m * p.act.k + k0;
        const uint4 ds = __ldg(reinterpret_cast<const uint4*>(p.act.ds + m * (p.act.k / 32) + ds0));
        const uint32_t d8[4] = {ds.x, ds.y, ds.z, ds.w};
        float sum = 0.0f;
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int a = __ldg(reinterpret_cast<const int*>(q8 + 32 * q));
          const int isum = __dp4a(v[q], a, 0);
          sum += HalfBitsToFloat(d8[q]) * static_cast<float>(isum * SignedByte(f.scales, q));
        }
        acc[0][m] += d * sum;
      }
    } else {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t quants = Q6kQuants4(q & 1 ? f.ql_b : f.ql_a, f.qh, q);
        const float scale = d * static_cast<float>(SignedByte(f.scales, q));  // ggml: d*sc first
        float w[4];
#pragma unroll
        for (int b = 0; b < 4; ++b) w[b] = scale * (ByteToFloat(quants, b) - 32.0f);
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float4 a = __ldg(reinterpret_cast<const float4*>(p.act.x + m * p.act.k + k0 + 32 * q));
          float sum = acc[0][m];
          sum = fmaf(w[0], a.x, sum);
          sum = fmaf(w[1], a.y, sum);
          sum = fmaf(w[2], a.z, sum);
          sum = fmaf(w[3], a.w, sum);
          acc[0][m] = sum;
        }
      }
    }
  }

  __device__ __forceinline__ static float Finish(const float (&v)[1]) { return v[0]; }
};

// ---- 32 threads per super-block (Legacy: float; Dp4a: Q8_1) -------------------
//
// Q6kSlice32Op: instantiated as Q6kLegacyOp and Q6kDp4aOp in their files.
// Dp4a: thread `slice` (0..31): h = slice/16, q = (slice/4)%4, c = slice%4,
// l = 8c..8c+7 of quarter q: ql bytes 64h + 32(q&1) + 8c (8), qh bytes
// 32h + 8c (8), one sub-block scale scales[8h + 2q + c/2], one Q8_1 block
// (4h + q), two DP4As per row.
// Legacy: thread `slice`: h = slice/16, c = slice%16, l = 2c, 2c+1 in all four
// quarters (8 weights): 16-bit loads of ql and qh, float activations as float2.
template <bool kDp4a, int kMaxThreads_>
struct Q6kSlice32Op {
  static constexpr int kSliceThreads = 32;
  static constexpr int kTeamLanes = 32;
  static constexpr int kOutputs = 1;
  static constexpr int kMaxThreads = kMaxThreads_;
  static constexpr int kInFlight = kMaxThreads_ <= 256 ? 2 : 1;

  struct Frag {
    uint32_t ql0, ql1, qh0, qh1;  // Dp4a: 8 bytes each; Legacy: ql0/ql1 = the two 16-bit ql, qh0
    uint32_t scales;              // Dp4a: byte 0; Legacy: byte q = scale of quarter q
    uint32_t d;
  };

  __device__ __forceinline__ static Frag Load(const GemvParams& p, int64_t row_offset, int sb,
                                              int slice) {
    const uint8_t* block = p.w0 + row_offset + static_cast<int64_t>(sb) * kQ6KBlockBytes;
    Frag f;
    if constexpr (kDp4a) {
      const int h = slice >> 4, q = (slice >> 2) & 3, c = slice & 3;
      const uint8_t* ql = block + 64 * h + 32 * (q & 1) + 8 * c;
      const uint8_t* qh = block + 128 + 32 * h + 8 * c;
      f.ql0 = LoadWeightsU32Align2(ql);
      f.ql1 = LoadWeightsU32Align2(ql + 4);
      f.qh0 = LoadWeightsU32Align2(qh);
      f.qh1 = LoadWeightsU32Align2(qh + 4);
      const uint32_t pair = LoadWeightsU16(block + 192 + 8 * h + 2 * q);  // scales[8h+2q], [+1]
      f.scales = pair >> (8 * (c >> 1));
    } else {
      const int h = slice >> 4, c = slice & 15;
      f.ql0 = LoadWeightsU16(block + 64 * h + 2 * c);
      f.ql1 = LoadWeightsU16(block + 64 * h + 32 + 2 * c);
      f.qh0 = LoadWeightsU16(block + 128 + 32 * h + 2 * c);
      f.qh1 = 0;
      const uint32_t s01 = LoadWeightsU32Align2(block + 192 + 8 * h);
      const uint32_t s23 = LoadWeightsU32Align2(block + 196 + 8 * h);
      f.scales = __byte_perm(s01, s23, (c >> 3) ? 0x7531u : 0x6420u);  // scales[8h + 2q + c/8]
    }
    f.d = LoadWeightsU16(block + 208);
    return f;
  }

  template <int M>
  __device__ __forceinline__ static void Compute(const Frag& f, const GemvParams& p, int sb,
                                                 int slice, float (&acc)[1][M]) {
    const float d = HalfBitsToFloat(f.d);
    if constexpr (kDp4a) {
      const int h = slice >> 4, q = (slice >> 2) & 3, c = slice & 3;
      const int64_t k0 = static_cast<int64_t>(sb) * 256 + 128 * h + 32 * q + 8 * c;
      const int v0 = static_cast<int>(__vsubss4(Q6kQuants4(f.ql0, f.qh0, q), 0x20202020u));
      const int v1 = static_cast<int>(__vsubss4(Q6kQuants4(f.ql1, f.qh1, q), 0x20202020u));
      const int scale = SignedByte(f.scales, 0);
      const int64_t ds_index = static_cast<int64_t>(sb) * 8 + 4 * h + q;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int2 a = __ldg(reinterpret_cast<const int2*>(p.act.q8 + m * p.act.k + k0));
        const int isum = __dp4a(v1, a.y, __dp4a(v0, a.x, 0));
        const float d8 = HalfBitsToFloat(__ldg(p.act.ds + m * (p.act.k / 32) + ds_index));
        acc[0][m] += d * (d8 * static_cast<float>(isum * scale));
      }
    } else {
      const int h = slice >> 4, c = slice & 15;
      const int64_t k0 = static_cast<int64_t>(sb) * 256 + 128 * h + 2 * c;
      float w[4][2];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t quants = Q6kQuants4(q & 1 ? f.ql1 : f.ql0, f.qh0, q);  // bytes 0, 1 valid
        const float scale = d * static_cast<float>(SignedByte(f.scales, q));
        w[q][0] = scale * (ByteToFloat(quants, 0) - 32.0f);
        w[q][1] = scale * (ByteToFloat(quants, 1) - 32.0f);
      }
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const float* x = p.act.x + m * p.act.k + k0;
        float sum = acc[0][m];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const float2 a = __ldg(reinterpret_cast<const float2*>(x + 32 * q));
          sum = fmaf(w[q][0], a.x, sum);
          sum = fmaf(w[q][1], a.y, sum);
        }
        acc[0][m] = sum;
      }
    }
  }

  __device__ __forceinline__ static float Finish(const float (&v)[1]) { return v[0]; }
};

// ---- Ring lanes: 8 lanes per super-block, activations in registers (gemv_ring.cuh) ----------
//
// Lane `part` (0..7): h = part/4, c = part%4, l = 8c..8c+7 of all four quarters of half h
// (32 weights, 8 per quarter, each quarter's 8 in one 16-weight sub-block: scale
// scales[8h + 2q + c/2]): the 8 ql bytes at 64h + 8c and at 64h + 32 + 8c, the 8 qh bytes at
// 128 + 32h + 8c, the scales' 8 bytes at 192 + 8h and d. A block sits in the ring at a 2-byte
// aligned address (210-byte blocks), so each 8-byte field is read as three aligned words and
// two PRMTs (SharedU64Align2).

// Eight bytes at a 2-byte-aligned shared-memory address, little-endian. May read up to 3 bytes
// past the field (inside the ring's allocation; never used).
__device__ __forceinline__ uint2 SharedU64Align2(const uint8_t* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uint32_t* w = reinterpret_cast<const uint32_t*>(a & ~uintptr_t{3});
  const uint32_t select = (a & 2) ? 0x5432u : 0x3210u;
  const uint32_t w0 = w[0], w1 = w[1], w2 = w[2];
  return {__byte_perm(w0, w1, select), __byte_perm(w1, w2, select)};
}

struct Q6kRingFields {
  uint2 ql_a, ql_b, qh;  // 8 bytes each
  uint32_t scales;       // byte q: scales[8h + 2q + c/2]
  float d;
};

__device__ __forceinline__ Q6kRingFields LoadQ6kRingFields(const uint8_t* block, int part) {
  const int h = part >> 2, c = part & 3;
  Q6kRingFields f;
  f.ql_a = SharedU64Align2(block + 64 * h + 8 * c);
  f.ql_b = SharedU64Align2(block + 64 * h + 32 + 8 * c);
  f.qh = SharedU64Align2(block + 128 + 32 * h + 8 * c);
  const uint2 sc = SharedU64Align2(block + 192 + 8 * h);
  f.scales = __byte_perm(sc.x, sc.y, (c >> 1) ? 0x7531u : 0x6420u);
  f.d = HalfBitsToFloat(*reinterpret_cast<const uint16_t*>(block + 208));
  return f;
}

template <int M>
struct Q6kRingFloatAct {
  float4 x[M][4][2];  // quarter q, weights 128h + 32q + 8c + 0..7
};

// Q6_K Mwv on the ring: per weight q - 32 exactly (PRMT into 2^23 + q, one FADD of 2^23 + 32),
// one FFMA per activation row into the quarter's sum, which is then scaled by d*sc (exact, as
// ggml's d*sc) and added: kRowRoundings = 8 + 1 + 4 (8 terms of a quarter, its scaling, <= 4
// quarters' additions).
struct Q6kRingFloatOp {
  static constexpr int kBlockBytes = kQ6KBlockBytes;
  static constexpr int kMaxM = 2;
  template <int M>
  static constexpr int kLanesPerBlock = 8;
  template <int M>
  using Act = Q6kRingFloatAct<M>;

  template <int M>
  __device__ __forceinline__ static void LoadAct(Act<M>& a, const Activations& act, int sb, int part) {
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 128 * (part >> 2) + 8 * (part & 3);
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const float4* x = reinterpret_cast<const float4*>(act.x + m * act.k + k0 + 32 * q);
        a.x[m][q][0] = __ldg(x);
        a.x[m][q][1] = __ldg(x + 1);
      }
    }
  }

  template <int M>
  __device__ __forceinline__ static void Row(const uint8_t* block, const Act<M>& a, int part, float (&acc)[M]) {
    const Q6kRingFields f = LoadQ6kRingFields(block, part);
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const float dsc = f.d * static_cast<float>(SignedByte(f.scales, q));
      const uint2 ql = q & 1 ? f.ql_b : f.ql_a;
      float inner[M];
#pragma unroll
      for (int m = 0; m < M; ++m) inner[m] = 0.0f;
#pragma unroll
      for (int t = 0; t < 2; ++t) {
        const uint32_t quants = Q6kQuants4(t ? ql.y : ql.x, t ? f.qh.y : f.qh.x, q);
        float w[4];
#pragma unroll
        for (int b = 0; b < 4; ++b) w[b] = ByteMagic(quants, b) - 8388640.0f;  // q - 32, exact
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float4 x = a.x[m][q][t];
          float v = inner[m];
          v = fmaf(w[0], x.x, v);
          v = fmaf(w[1], x.y, v);
          v = fmaf(w[2], x.z, v);
          v = fmaf(w[3], x.w, v);
          inner[m] = v;
        }
      }
#pragma unroll
      for (int m = 0; m < M; ++m) acc[m] = fmaf(dsc, inner[m], acc[m]);
    }
  }
};

template <int M>
struct Q6kRingDp4aAct {
  int codes[M][4][2];  // quarter q: Q8_1 codes of weights 128h + 32q + 8c + 0..7
  uint32_t ds[M][4];   // the d | s word of Q8_1 block 4h + q
};

// Q6_K HwDp4a on the ring: Q6kSlice16Op's DP4A arithmetic (signed q - 32 bytes, per quarter
// d8 * (isum * sc), then d times the lane's sum) over the lane's 8 weights per quarter:
// kRowRoundings = 4 + 1 + 1.
struct Q6kRingDp4aOp {
  static constexpr int kBlockBytes = kQ6KBlockBytes;
  static constexpr int kMaxM = 4;
  template <int M>
  static constexpr int kLanesPerBlock = 8;
  template <int M>
  using Act = Q6kRingDp4aAct<M>;

  template <int M>
  __device__ __forceinline__ static void LoadAct(Act<M>& a, const Activations& act, int sb, int part) {
    const int h = part >> 2;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 128 * h + 8 * (part & 3);
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int2 v = __ldg(reinterpret_cast<const int2*>(act.q8 + m * act.k + k0 + 32 * q));
        a.codes[m][q][0] = v.x;
        a.codes[m][q][1] = v.y;
      }
      const uint4 ds = __ldg(reinterpret_cast<const uint4*>(act.ds + m * (act.k / 32) + static_cast<int64_t>(sb) * 8 + 4 * h));
      a.ds[m][0] = ds.x, a.ds[m][1] = ds.y, a.ds[m][2] = ds.z, a.ds[m][3] = ds.w;
    }
  }

  template <int M>
  __device__ __forceinline__ static void Row(const uint8_t* block, const Act<M>& a, int part, float (&acc)[M]) {
    const Q6kRingFields f = LoadQ6kRingFields(block, part);
    int v[4][2];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const uint2 ql = q & 1 ? f.ql_b : f.ql_a;
#pragma unroll
      for (int t = 0; t < 2; ++t) {
        const uint32_t quants = Q6kQuants4(t ? ql.y : ql.x, t ? f.qh.y : f.qh.x, q);
        v[q][t] = static_cast<int>(((quants | 0x80808080u) - 0x20202020u) ^ 0x80808080u);  // q - 32
      }
    }
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float sum = 0.0f;
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int isum = __dp4a(v[q][1], a.codes[m][q][1], __dp4a(v[q][0], a.codes[m][q][0], 0));
        sum += HalfBitsToFloat(a.ds[m][q]) * static_cast<float>(isum * SignedByte(f.scales, q));
      }
      acc[m] += f.d * sum;
    }
  }
};

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_Q6K_SLICES_CUH_
