// Q4_K Mwv (v2, the row in the variant table): float activations, fp32 sums, built for the
// streaming read at M = 1 (issue 12; kernels/cuda/PERF_NOTES.md, "Mwv v2").
//
// v1 (q4k_mwv.cu, kept as the benchmark's "Mwv (v1)" baseline) reached ~25% of the streaming read:
// per weight it paid an I2F-free but 4-op dequantise (mask, PRMT, FADD, FFMA with the min folded
// in), re-read every activation from L1 per row, and had ~3 rows of 96 threads per block in flight.
// v2, per weight: one PRMT (nibble byte into the mantissa of 2^23), one FFMA that gives the exact
// d*sc*q (d*sc*(2^23 + q) - d*sc*2^23; d*sc*q has <= 21 significant bits, so the FFMA's single
// rounding is exact) and one FFMA into the sum. The min term leaves the per-weight path: each
// block first writes the 32-weight sub-block sums S_j of x to shared memory (one pass, all M
// rows), and the lane pair that owns a sub-block's weights adds -dmin*m_j*S_j once per row.
//
// Mapping. A block is 8 warps; warp w takes R = 4 consecutive rows and k-part w % ks of them
// (ks = 1, 2, 4 or 8 warps split the row's steps: split-K inside the block, so small grids still
// fill 132 SMs). Lane l of a warp owns slice l % 8 (16 qs bytes: 16 weights of sub-block 2g and 16
// of 2g+1, g = slice / 2) of super-block 4s + l / 8 in step s, for all R rows: each activation
// float4 is loaded once per step and used for R rows; each row's 16-byte qs and header loads
// are issued one step ahead (two register buffers), so a warp keeps 2 x 4 rows x 4 x 144 bytes in
// flight and an SM (16 warps at M <= 2) ~70 KB.
//
// Summation chain (the float path's bound, tests/gpu/gpu_test_support.h FloatPathBound, holds
// unchanged): a dot term d*sc*q*x is rounded once by its FFMA and then by each later addition to
// the lane's sum, at most 34 per super-block the lane owns (32 dot FFMAs + 2 min FFMAs), and the
// lane owns <= ceil(nsb / 4) super-blocks; a min term dmin*m*S_j carries S_j's <= 31 roundings
// and one product rounding before that. Then 5 butterfly levels and <= 8 k-parts added in order.
// So h <= 31 + 1 + 34 * ceil(nsb/4) + 5 + 8 <= 8.5 nsb + 71 < 256 nsb + 4 = K + 4 for every
// nsb >= 1, and every term's magnitude is within a_k |x_k| (a_k = |d sc q| + |dmin m|): the
// rounding of S_j moves the min term by at most |dmin m| * 31 * 2^-24 * sum_{k in j} |x_k|.
#include <climits>

#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {
namespace {

constexpr int kWarps = 8;            // warps per block
constexpr int kThreads = 32 * kWarps;
constexpr int kRowsPerWarp = 4;      // R: rows sharing each activation load
constexpr int kSbPerStep = 4;        // super-blocks a warp covers per step (32 lanes / 8 slices)
constexpr float kTwo23 = 8388608.0f;
// Shared memory for the sub-block sums (M * K/32 floats) must fit the default 48 KB with the
// partials; larger K * M falls back to v1 (correct, slower).
constexpr int kMaxSumBytes = 46 * 1024;

struct MwvV2Params {
  const uint8_t* w;
  const float* x;
  float* y;
  int64_t row_bytes;
  int64_t k;
  int n;
  int nsb;
  int steps;  // ceil(nsb / kSbPerStep)
  int ks;     // k-parts per row group: 1, 2, 4 or 8 warps
};

// The byte `index` (0..3, a compile-time constant after unrolling) of v as the float 2^23 + byte.
__device__ __forceinline__ float ByteMagic(uint32_t v, int index) {
  return __uint_as_float(__byte_perm(v, 0x4B000000u, 0x7540u + index));
}

struct RowFrag {
  uint4 head;
  uint4 qs;
};

// The per-row, per-super-block constants of a lane: d*sc and -d*sc*2^23 of sub-blocks 2g and
// 2g+1 (exact: d is fp16, sc 6 bits), and dmin*m of both.
struct LaneScales {
  float dsc0, nb0, dsc1, nb1, dm0, dm1;
};

__device__ __forceinline__ LaneScales DecodeLaneScales(const uint4& head, int g) {
  const Q4kScalesPair s = DecodeQ4kScales(Q4kHeader{head.x, head.y, head.z, head.w}, g);
  LaneScales r;
  r.dsc0 = s.d * static_cast<float>(s.sc0);
  r.dsc1 = s.d * static_cast<float>(s.sc1);
  r.nb0 = -r.dsc0 * kTwo23;
  r.nb1 = -r.dsc1 * kTwo23;
  r.dm0 = s.dmin * static_cast<float>(s.m0);
  r.dm1 = s.dmin * static_cast<float>(s.m1);
  return r;
}

// kPipelined (M <= 2): the next step's loads are issued before this step's arithmetic (two
// register buffers). At M >= 3 the arithmetic per weight byte is M times larger and the second
// buffer would cost the second resident block (registers), so loads and use alternate.
template <int M>
__global__ void __launch_bounds__(kThreads, 2) Q4kMwvV2Kernel(const MwvV2Params p) {
  constexpr bool kPipelined = M <= 2;
  constexpr int R = kRowsPerWarp;
  extern __shared__ float mwv_smem[];
  const int nblk = static_cast<int>(p.k / 32);
  float* const sums = mwv_smem;                        // [M][nblk]
  float* const partial = mwv_smem + M * nblk;          // [kWarps][R * M]

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid >> 5, lane = tid & 31;
  const int kp = warp % p.ks;
  const int row_group = warp / p.ks;
  const int rows_per_block = R * (kWarps / p.ks);
  const int row0 = static_cast<int>(blockIdx.x) * rows_per_block + row_group * R;
  const int sbi = lane >> 3, slice = lane & 7;
  const int g = slice >> 1, hh = slice & 1;

  // Rows past N read row N-1 (valid memory; the tail block only) and are not stored.
  const int last_row = p.n - 1;
  auto load_step = [&](int s, RowFrag (&f)[R]) {
    const int sb = s * kSbPerStep + sbi;
    if (sb < p.nsb) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int row = row0 + r < last_row ? row0 + r : last_row;
        const uint8_t* block = p.w + static_cast<int64_t>(row) * p.row_bytes +
                               static_cast<int64_t>(sb) * kQ4KBlockBytes;
        f[r].head = LoadWeightsU4(block);
        f[r].qs = LoadWeightsU4(block + 16 + 16 * slice);
      }
    }
  };

  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;
  }

  auto compute_step = [&](int s, const RowFrag (&f)[R]) {
    const int sb = s * kSbPerStep + sbi;
    if (sb >= p.nsb) return;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 64 * g + 16 * hh;
    LaneScales sc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) sc[r] = DecodeLaneScales(f[r].head, g);
    // Min term, once per sub-block per row: the hh == 0 lane of the pair owning sub-blocks 2g
    // and 2g+1 adds -dmin*m_j*S_j for both.
    if (hh == 0) {
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const float2 s2 = *reinterpret_cast<const float2*>(sums + m * nblk + sb * 8 + 2 * g);
#pragma unroll
        for (int r = 0; r < R; ++r) {
          acc[r][m] = fmaf(-sc[r].dm0, s2.x, acc[r][m]);
          acc[r][m] = fmaf(-sc[r].dm1, s2.y, acc[r][m]);
        }
      }
    }
    // Word i of the 16 qs bytes: low nibbles = weights k0 + 4i .. +3 (sub-block 2g), high
    // nibbles = weights k0 + 32 + 4i .. +3 (sub-block 2g+1).
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float w[R][4];
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const uint32_t q = (&f[r].qs.x)[i];
          const uint32_t nib = half == 0 ? (q & 0x0F0F0F0Fu) : ((q >> 4) & 0x0F0F0F0Fu);
          const float dsc = half == 0 ? sc[r].dsc0 : sc[r].dsc1;
          const float nb = half == 0 ? sc[r].nb0 : sc[r].nb1;
#pragma unroll
          for (int b = 0; b < 4; ++b) w[r][b] = fmaf(dsc, ByteMagic(nib, b), nb);  // exact d*sc*q
        }
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float4 a =
              __ldg(reinterpret_cast<const float4*>(p.x + m * p.k + k0 + 32 * half + 4 * i));
#pragma unroll
          for (int r = 0; r < R; ++r) {
            float t = acc[r][m];
            t = fmaf(w[r][0], a.x, t);
            t = fmaf(w[r][1], a.y, t);
            t = fmaf(w[r][2], a.z, t);
            t = fmaf(w[r][3], a.w, t);
            acc[r][m] = t;
          }
        }
      }
    }
  };

  // First step's weights in flight before the sub-block sums are computed.
  RowFrag fa[R], fb[R];
  int s = kp;
  if (s < p.steps) load_step(s, fa);

  // S_j for every sub-block of every activation row, summed in index order (31 roundings).
  for (int idx = tid; idx < M * nblk; idx += kThreads) {
    const int m = idx / nblk, j = idx - m * nblk;
    const float4* xs = reinterpret_cast<const float4*>(p.x + m * p.k + 32 * static_cast<int64_t>(j));
    float t = 0.0f;
#pragma unroll
    for (int v = 0; v < 8; ++v) {
      const float4 a = __ldg(xs + v);
      t = v == 0 ? a.x : t + a.x;
      t += a.y;
      t += a.z;
      t += a.w;
    }
    sums[idx] = t;
  }
  __syncthreads();

  if constexpr (!kPipelined) {
    for (; s < p.steps; s += p.ks) {
      if (s != kp) load_step(s, fa);
      compute_step(s, fa);
    }
  }
  while (kPipelined && s < p.steps) {
    if (s + p.ks < p.steps) load_step(s + p.ks, fb);
    compute_step(s, fa);
    s += p.ks;
    if (s >= p.steps) break;
    if (s + p.ks < p.steps) load_step(s + p.ks, fa);
    compute_step(s, fb);
    s += p.ks;
  }

  // Butterfly over the warp's 32 lanes, then the k-parts of each row group in order.
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) {
        acc[r][m] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][m], offset);
      }
    }
  }
  // Lane r*M + m (< R*M <= 32) holds output (r, m).
  float mine = 0.0f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) mine = lane == r * M + m ? acc[r][m] : mine;
  }
  if (p.ks == 1) {
    if (lane < R * M) {
      const int r = lane / M, m = lane - (lane / M) * M;
      if (row0 + r < p.n) p.y[static_cast<int64_t>(m) * p.n + row0 + r] = mine;
    }
    return;
  }
  if (lane < R * M) partial[warp * (R * M) + lane] = mine;
  __syncthreads();
  if (tid < rows_per_block * M) {
    const int rr = tid / M, m = tid - rr * M;  // rr: row within the block
    const int rg = rr / R, r = rr - rg * R;
    float v = 0.0f;
    for (int part = 0; part < p.ks; ++part) {
      v += partial[(rg * p.ks + part) * (R * M) + r * M + m];
    }
    const int row = static_cast<int>(blockIdx.x) * rows_per_block + rr;
    if (row < p.n) p.y[static_cast<int64_t>(m) * p.n + row] = v;
  }
}

// k-parts per row group: the fewest (1, 2, 4, 8) that give >= 4 blocks per SM (two waves at two
// resident blocks per SM), never more than the row's steps.
int ChooseKParts(int64_t n, int steps, int sms) {
  int ks = 1;
  while (ks < kWarps && 2 * ks <= steps) {
    const int64_t rows_per_block = kRowsPerWarp * (kWarps / ks);
    const int64_t blocks = (n + rows_per_block - 1) / rows_per_block;
    if (blocks >= 4 * static_cast<int64_t>(sms)) break;
    ks *= 2;
  }
  return ks;
}

template <int M>
Status LaunchM(const MwvV2Params& p, cudaStream_t stream) {
  const int rows_per_block = kRowsPerWarp * (kWarps / p.ks);
  const unsigned blocks = static_cast<unsigned>((p.n + rows_per_block - 1) / rows_per_block);
  const size_t smem = sizeof(float) * (static_cast<size_t>(M) * (p.k / 32) + kWarps * kRowsPerWarp * M);
  Q4kMwvV2Kernel<M><<<blocks, kThreads, smem, stream>>>(p);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

}  // namespace

Status LaunchQ4kMwv(const GemvArgs& args) {
  GemvParams gp;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &gp));
  // The policy's knob keeps its range; v2 chooses its own shape.
  KPOLICY_CHECK_ARG(args.mwv_warps >= 1 && args.mwv_warps <= kMaxMwvWarps);
  if (static_cast<int64_t>(args.m) * (args.k / 32) * static_cast<int64_t>(sizeof(float)) > kMaxSumBytes) {
    return ::kpolicy::kernels::gpu::LaunchQ4kMwvV1(args);
  }
  int sms = 1;
  KPOLICY_TRY(CurrentSmCount(&sms));
  MwvV2Params p;
  p.w = gp.w0;
  p.x = args.x;
  p.y = args.y;
  p.row_bytes = gp.row_bytes;
  p.k = args.k;
  p.n = gp.n;
  p.nsb = gp.nsb;
  p.steps = (gp.nsb + kSbPerStep - 1) / kSbPerStep;
  p.ks = ChooseKParts(gp.n, p.steps, sms);
  const cudaStream_t stream = ToStream(args.stream);
  switch (args.m) {
    case 1: return LaunchM<1>(p, stream);
    case 2: return LaunchM<2>(p, stream);
    case 3: return LaunchM<3>(p, stream);
    case 4: return LaunchM<4>(p, stream);
    case 5: return LaunchM<5>(p, stream);
    case 6: return LaunchM<6>(p, stream);
    case 7: return LaunchM<7>(p, stream);
    case 8: return LaunchM<8>(p, stream);
    default: KPOLICY_CHECK_ARG(args.m >= 1 && args.m <= kMaxGemvRows);
  }
  return {};
}

}  // namespace kpolicy::kernels::gpu::detail
