// Q4_K Mwv (v3, the row in the variant table) and the float-activation fused gate+up+SwiGLU:
// float activations, fp32 sums, built for the streaming read (issue 12; PERF_NOTES.md "Mwv v3").
//
// v2 measured 19-28% of the streaming read on the H200. Its blocks first summed every 32-weight
// sub-block of x into shared memory (the min term's S_j): at 4096x14336 each of its 1024 blocks
// read all 57 KB of x for 32 KB of weights, then waited at a barrier before its first weight was
// used. v3 drops that pass: the lane that multiplies 16 weights of a sub-block sums the same 16
// activations it already loaded, and applies the min term for them itself.
//
// Per weight: one PRMT (the nibble byte into the mantissa of 2^23), one FFMA giving the exact
// d*sc*q (d*sc*(2^23 + q) - d*sc*2^23), then one FFMA per activation row into the sum: 2 + M
// instructions; per 16 weights and row one FFMA acc -= dmin*m*S.
//
// Mapping. A warp loads L = 4 weight rows per step at M = 1, 2 at M >= 2 (LoadRows; output rows:
// L, or L / 2 in the fused kernel, each from the gate and the up matrix). Lane l owns qs slice l % 8 (16 bytes: 16
// weights of sub-block 2g and 16 of 2g+1, g = slice / 2) of super-block 4s + l / 8 in step s, for
// all 4 rows: each activation float4 is loaded once per step and used for 4 rows. Work is split
// so that the grid is about one wave of resident warps (ChooseSplit): when rows are few, ks = 2,
// 4 or 8 warps of a block share a row group's steps (split-K, partials added in k-part order
// through shared memory); when rows are many, each warp walks `groups_per_warp` row groups one
// after another. At M <= 2 every step's 8 16-byte loads are issued before the previous step's
// arithmetic (two register buffers), across row-group boundaries too.
//
// Summation chain (FloatPathBound, tests/gpu/gpu_test_support.h, holds): a dot term d*sc*q*x is
// rounded once by its FFMA and then by each later addition to the lane's sum, at most 34 per
// super-block step the lane takes part in (32 dot FFMAs + 2 min FFMAs), for <= ceil(nsb/4) steps;
// a min term dmin*m*S carries S's <= 15 roundings (16 activations summed in order) and one
// product rounding before that. Then 5 butterfly levels and <= 7 additions of k-parts. So
// h <= 16 + 34 ceil(nsb/4) + 12 <= 8.5 nsb + 54 < 256 nsb + 4 = K + 4 for every nsb >= 1, and
// each rounding moves a term by at most 2^-24 of |d sc q x| or |dmin m| sum|x|: within the
// a_k |x_k| the bound sums.
#include <climits>

#include "kpolicy/kernels/gemv_launch.h"
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {
namespace {

constexpr int kWarps = 8;            // warps per block
constexpr int kThreads = 32 * kWarps;
constexpr int kBlocksPerSm = 2;      // __launch_bounds__: <= 128 registers per thread
// Weight rows a warp loads per step: 4 at M = 1 (each activation float4 serves 4 rows), 2 at
// M >= 2, where 4 rows' buffers and 4 x M sums do not fit 128 registers (nvcc 13, sm_90, -Xptxas
// -v: 4 rows spill 28 bytes at M = 2; 2 rows spill nothing at M <= 5, 4-36 bytes at M = 6..8).
__host__ __device__ constexpr int LoadRows(int m) { return m == 1 ? 4 : 2; }
constexpr int kSbPerStep = 4;        // super-blocks a warp covers per step (32 lanes / 8 slices)
constexpr float kTwo23 = 8388608.0f;

struct MwvParams {
  const uint8_t* w0;  // the weights (the gate matrix when fused)
  const uint8_t* w1;  // the up matrix (fused only)
  const float* x;
  float* y;
  int64_t row_bytes;
  int64_t k;
  int n;
  int nsb;
  int steps;            // ceil(nsb / kSbPerStep)
  int row_groups;       // ceil(n / output rows per warp)
  int ks;               // 1: a warp walks whole row groups; 2, 4, 8: warps of a block split one
  int groups_per_warp;  // ks == 1: consecutive row groups per warp
};

struct RowFrag {
  uint4 head;  // d, dmin, scales[12]
  uint4 qs;    // this lane's 16 qs bytes
};

__device__ __forceinline__ float Silu(float g) { return g / (1.0f + expf(-g)); }

template <int M, int kMatrices>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm) Q4kMwvV3Kernel(const MwvParams p) {
  constexpr int L = LoadRows(M);
  constexpr int kOutRows = L / kMatrices;  // output rows per warp
  constexpr bool kPipelined = M <= 2;
  __shared__ float partial[kWarps][L * M];

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid >> 5, lane = tid & 31;
  const int sbi = lane >> 3, slice = lane & 7;
  const int g = slice >> 1, hh = slice & 1;

  int rg_begin, rg_end, s_begin, s_stride;
  if (p.ks == 1) {
    const int gw = static_cast<int>(blockIdx.x) * kWarps + warp;
    rg_begin = gw * p.groups_per_warp;
    rg_end = min(rg_begin + p.groups_per_warp, p.row_groups);
    s_begin = 0;
    s_stride = 1;
  } else {
    rg_begin = static_cast<int>(blockIdx.x) * (kWarps / p.ks) + warp / p.ks;
    rg_end = min(rg_begin + 1, p.row_groups);
    s_begin = warp % p.ks;
    s_stride = p.ks;
  }

  // Rows past N read row N-1 (valid memory; the last row group only) and are not stored.
  auto load = [&](int rg, int s, RowFrag (&f)[L]) {
    const int sb = s * kSbPerStep + sbi;
    if (sb >= p.nsb) return;
#pragma unroll
    for (int r = 0; r < L; ++r) {
      const int row = min(rg * kOutRows + r % kOutRows, p.n - 1);
      const uint8_t* base = (kMatrices == 2 && r >= kOutRows) ? p.w1 : p.w0;
      const uint8_t* block = base + static_cast<int64_t>(row) * p.row_bytes +
                             static_cast<int64_t>(sb) * kQ4KBlockBytes;
      f[r].head = LoadWeightsU4(block);
      f[r].qs = LoadWeightsU4(block + 16 + 16 * slice);
    }
  };

  float acc[L][M];
  auto zero = [&]() {
#pragma unroll
    for (int r = 0; r < L; ++r) {
#pragma unroll
      for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;
    }
  };
  zero();

  auto compute = [&](int s, const RowFrag (&f)[L]) {
    const int sb = s * kSbPerStep + sbi;
    if (sb >= p.nsb) return;
    const int64_t k0 = static_cast<int64_t>(sb) * 256 + 64 * g + 16 * hh;
    // d*sc and dmin*m of sub-blocks 2g and 2g+1 per row: exact (fp16 times a 6-bit integer).
    float dsc_of[L][2], dm_of[L][2];
#pragma unroll
    for (int r = 0; r < L; ++r) {
      const Q4kScalesPair sc = DecodeQ4kScales(Q4kHeader{f[r].head.x, f[r].head.y, f[r].head.z, f[r].head.w}, g);
      dsc_of[r][0] = sc.d * static_cast<float>(sc.sc0);
      dsc_of[r][1] = sc.d * static_cast<float>(sc.sc1);
      dm_of[r][0] = sc.dmin * static_cast<float>(sc.m0);
      dm_of[r][1] = sc.dmin * static_cast<float>(sc.m1);
    }
    // half 0: low nibbles, weights k0 .. k0+15 of sub-block 2g; half 1: high nibbles,
    // weights k0+32 .. k0+47 of sub-block 2g+1.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float nb[L];  // -d*sc*2^23, exact
#pragma unroll
      for (int r = 0; r < L; ++r) nb[r] = -dsc_of[r][half] * kTwo23;
      float sum_x[M];
#pragma unroll
      for (int m = 0; m < M; ++m) sum_x[m] = 0.0f;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        float w[L][4];
#pragma unroll
        for (int r = 0; r < L; ++r) {
          const uint32_t q = (&f[r].qs.x)[i];
          const uint32_t nib = half == 0 ? (q & 0x0F0F0F0Fu) : ((q >> 4) & 0x0F0F0F0Fu);
          // d*sc*(2^23 + q) - d*sc*2^23 in one FFMA: d*sc*q has <= 21 significant bits, so the
          // single rounding is exact.
#pragma unroll
          for (int b = 0; b < 4; ++b) w[r][b] = fmaf(dsc_of[r][half], ByteMagic(nib, b), nb[r]);
        }
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float4 a = __ldg(reinterpret_cast<const float4*>(p.x + m * p.k + k0 + 32 * half + 4 * i));
          sum_x[m] = sum_x[m] + a.x + a.y + a.z + a.w;
#pragma unroll
          for (int r = 0; r < L; ++r) {
            float t = acc[r][m];
            t = fmaf(w[r][0], a.x, t);
            t = fmaf(w[r][1], a.y, t);
            t = fmaf(w[r][2], a.z, t);
            t = fmaf(w[r][3], a.w, t);
            acc[r][m] = t;
          }
        }
      }
      // The min term of these 16 weights: dmin*m (exact) times the sum of their activations.
#pragma unroll
      for (int r = 0; r < L; ++r) {
#pragma unroll
        for (int m = 0; m < M; ++m) acc[r][m] = fmaf(-dm_of[r][half], sum_x[m], acc[r][m]);
      }
    }
  };

  // A row group done (ks == 1): butterfly, then lane r*M + m stores output (r, m).
  auto store = [&](int rg) {
#pragma unroll
    for (int r = 0; r < L; ++r) {
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int offset = 16; offset > 0; offset >>= 1) {
          acc[r][m] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][m], offset);
        }
      }
    }
    float mine = 0.0f;
#pragma unroll
    for (int r = 0; r < kOutRows; ++r) {
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const float v = kMatrices == 2 ? Silu(acc[r][m]) * acc[r + kOutRows][m] : acc[r][m];
        mine = lane == r * M + m ? v : mine;
      }
    }
    if (lane < kOutRows * M) {
      const int r = lane / M, m = lane - (lane / M) * M;
      const int row = rg * kOutRows + r;
      if (row < p.n) p.y[static_cast<int64_t>(m) * p.n + row] = mine;
    }
  };

  // The warp's units (row group, step) in order; at M <= 2 the next unit's loads are issued
  // before this unit's arithmetic.
  auto next = [&](int& rg, int& s) {
    s += s_stride;
    if (s >= p.steps) {
      s = s_begin;
      ++rg;
    }
  };
  RowFrag fa[L], fb[L];
  int rg = rg_begin, s = s_begin;
  if (rg < rg_end && s < p.steps) {
    if constexpr (kPipelined) {
      load(rg, s, fa);
      bool in_a = true;
      while (true) {
        int nrg = rg, ns = s;
        next(nrg, ns);
        const bool more = nrg < rg_end;
        if (in_a) {
          if (more) load(nrg, ns, fb);
          compute(s, fa);
        } else {
          if (more) load(nrg, ns, fa);
          compute(s, fb);
        }
        in_a = !in_a;
        if (p.ks == 1 && nrg != rg) {
          store(rg);
          zero();
        }
        if (!more) break;
        rg = nrg;
        s = ns;
      }
    } else {
      while (rg < rg_end) {
        load(rg, s, fa);
        compute(s, fa);
        int nrg = rg;
        next(nrg, s);
        if (p.ks == 1 && nrg != rg) {
          store(rg);
          zero();
        }
        rg = nrg;
      }
    }
  }
  if (p.ks == 1) return;

  // Split-K: each warp's partials (lane r*M + m after the butterfly), then the k-parts of each
  // row group added in order.
#pragma unroll
  for (int r = 0; r < L; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) {
        acc[r][m] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][m], offset);
      }
    }
  }
  float mine = 0.0f;
#pragma unroll
  for (int r = 0; r < L; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) mine = lane == r * M + m ? acc[r][m] : mine;
  }
  if (lane < L * M) partial[warp][lane] = mine;
  __syncthreads();
  const int groups_per_block = kWarps / p.ks;
  if (tid < groups_per_block * kOutRows * M) {
    const int gb = tid / (kOutRows * M);
    const int within = tid - gb * (kOutRows * M);
    const int r = within / M, m = within - r * M;
    float v[kMatrices];
#pragma unroll
    for (int mat = 0; mat < kMatrices; ++mat) {
      float t = 0.0f;
      for (int part = 0; part < p.ks; ++part) t += partial[gb * p.ks + part][(r + mat * kOutRows) * M + m];
      v[mat] = t;
    }
    const int row = (static_cast<int>(blockIdx.x) * groups_per_block + gb) * kOutRows + r;
    const float out = kMatrices == 2 ? Silu(v[0]) * v[kMatrices - 1] : v[0];
    if (row < p.n) p.y[static_cast<int64_t>(m) * p.n + row] = out;
  }
}

// About one wave of resident warps (capacity = warps per SM x SMs). Row groups >= capacity: each
// warp walks ceil(groups / capacity) of them. Fewer: the largest ks in 2, 4, 8 with groups x ks
// <= capacity and ks <= steps (k-parts that would get no step only wait at the barrier).
void ChooseSplit(int capacity, MwvParams& p) {
  p.ks = 1;
  p.groups_per_warp = 1;
  if (p.row_groups >= capacity) {
    p.groups_per_warp = (p.row_groups + capacity - 1) / capacity;
    return;
  }
  while (p.ks < kWarps && 2 * p.ks <= p.steps &&
         static_cast<int64_t>(p.row_groups) * 2 * p.ks <= capacity) {
    p.ks *= 2;
  }
}

template <int M, int kMatrices>
Status LaunchM(MwvParams p, int sms, cudaStream_t stream) {
  int blocks_per_sm = 0;
  KPOLICY_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &blocks_per_sm, Q4kMwvV3Kernel<M, kMatrices>, kThreads, 0));
  if (blocks_per_sm < 1) blocks_per_sm = 1;
  ChooseSplit(blocks_per_sm * kWarps * sms, p);
  int64_t blocks = 0;
  if (p.ks == 1) {
    const int64_t warps = (p.row_groups + p.groups_per_warp - 1) / p.groups_per_warp;
    blocks = (warps + kWarps - 1) / kWarps;
  } else {
    const int groups_per_block = kWarps / p.ks;
    blocks = (p.row_groups + groups_per_block - 1) / groups_per_block;
  }
  Q4kMwvV3Kernel<M, kMatrices><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(p);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

template <int kMatrices>
Status Launch(const GemvParams& gp, const uint8_t* w1, const float* x, int m, cudaStream_t stream) {
  int sms = 1;
  KPOLICY_TRY(CurrentSmCount(&sms));
  MwvParams p;
  p.w0 = gp.w0;
  p.w1 = w1;
  p.x = x;
  p.y = gp.y;
  p.row_bytes = gp.row_bytes;
  p.k = gp.act.k;
  p.n = gp.n;
  p.nsb = gp.nsb;
  p.steps = (gp.nsb + kSbPerStep - 1) / kSbPerStep;
  auto groups = [&](int rows) {
    const int out_rows = rows / kMatrices;
    return static_cast<int>((static_cast<int64_t>(gp.n) + out_rows - 1) / out_rows);
  };
  p.row_groups = groups(LoadRows(m));
  switch (m) {
    case 1: return LaunchM<1, kMatrices>(p, sms, stream);
    case 2: return LaunchM<2, kMatrices>(p, sms, stream);
    case 3: return LaunchM<3, kMatrices>(p, sms, stream);
    case 4: return LaunchM<4, kMatrices>(p, sms, stream);
    case 5: return LaunchM<5, kMatrices>(p, sms, stream);
    case 6: return LaunchM<6, kMatrices>(p, sms, stream);
    case 7: return LaunchM<7, kMatrices>(p, sms, stream);
    case 8: return LaunchM<8, kMatrices>(p, sms, stream);
    default: KPOLICY_CHECK_ARG(m >= 1 && m <= kMaxGemvRows);
  }
  return {};
}

}  // namespace

Status LaunchQ4kMwv(const GemvArgs& args) {
  GemvParams gp;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &gp));
  // The policy's knob keeps its range; v3 chooses its own shape. The ring (gemv_ring.cuh) with
  // this arithmetic measured slower than v3 at M = 1 on the H100 (39-42% against 47-50% of the
  // streaming read at the Llama-3-8B FFN shapes, PERF_NOTES.md "Ring"), so v3 stays the launch.
  KPOLICY_CHECK_ARG(args.mwv_warps >= 1 && args.mwv_warps <= kMaxMwvWarps);
  return Launch<1>(gp, nullptr, args.x, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail

namespace kpolicy::kernels::gpu {

Status LaunchFusedGateUpQ4kMwv(const FusedGateUpArgs& args) {
  GemvArgs gemv;
  gemv.weights = args.gate;
  gemv.x = args.x;
  gemv.y = args.y;
  gemv.n = args.n;
  gemv.k = args.k;
  gemv.m = args.m;
  detail::GemvParams gp;
  KPOLICY_TRY(detail::MakeGemvParams(gemv, GemvOp::kQ4K, false, &gp));
  KPOLICY_CHECK_ARG(args.up != nullptr && reinterpret_cast<uintptr_t>(args.up) % 16 == 0);
  return detail::Launch<2>(gp, static_cast<const uint8_t*>(args.up), args.x, args.m,
                           detail::ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu
