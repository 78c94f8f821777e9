// The W4A16 tensor-core kernel (gemm_paths.h, GemmPath::kW4a16Interleaved):
// Q4_K weights in the column-interleaved layout of w4a16_layout.h,
// dequantised to FP16 in registers and shared memory, multiplied with FP16
// activations by WMMA m16n16k16 with FP32 accumulation.
//
// Block: 4 warps; warp w owns row tile blockIdx.x*4 + w (16 output rows).
// blockIdx.y is a slice of the super-blocks (split K). Per super-block:
//   1. every warp issues its loads of the tile's 2304-byte chunk (one 16-byte
//      load per lane for the 16 headers, four for the quant groups: whole
//      128-byte segments), before the barrier so they are in flight;
//   2. the block converts x[:, 256 sb .. 256 sb + 255] (M rows) to FP16 in
//      shared memory (rows M .. 16*MT-1 stay zero);
//   3. per quant group g (64 weights: sub-blocks 2g, 2g+1), lane L
//      dequantises row L/2's 16 bytes (32 weights) as (d*sc)*q - dmin*m in
//      FP32, rounds to FP16 and writes them into the warp's 16 x 64 tile,
//      then 4 k-steps of WMMA against each of the MT activation tiles.
// Epilogue: accumulators through shared memory to y (or to the split's
// partials), masked to m < M and n < N.
#include <cuda_fp16.h>
#include <mma.h>

#include "gemm_common.cuh"
#include "kpolicy/kernels/w4a16_layout.h"

namespace kpolicy::kernels::gpu {
namespace {

using namespace nvcuda;

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kXLd = 256 + 8;  // halves per staged activation row (+8: banks)
constexpr int kWLd = 64 + 8;   // halves per staged weight row of one quant group
constexpr int kMaxSplits = 16;

static_assert(kW4a16TileRows == 16 && kW4a16ChunkBytes == 2304 && kW4a16HeaderBytes == 256 &&
              kW4a16GroupBytes == 512);

struct W4a16Params {
  const uint8_t* w;
  const float* x;
  float* out;               // y, or the partials of blockIdx.y's split
  int64_t out_split_stride; // floats between two splits' outputs (0 without split)
  int m, n;
  int64_t k;
  int tiles, nsb, sb_per_split;
};

// Weights are streamed once: keep them out of L1 (sm_70+).
__device__ __forceinline__ uint4 LoadStreaming(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ uint32_t ByteOf(const uint32_t (&words)[3], int i) {
  return (words[i / 4] >> (8 * (i % 4))) & 0xFFu;
}

// Q4KScaleMin for sub-block j (a compile-time constant after unrolling) of
// the 12 scale bytes held in three words.
__device__ __forceinline__ void ScaleMin(const uint32_t (&s)[3], int j, float* sc, float* mn) {
  if (j < 4) {
    *sc = static_cast<float>(ByteOf(s, j) & 63u);
    *mn = static_cast<float>(ByteOf(s, j + 4) & 63u);
  } else {
    *sc = static_cast<float>((ByteOf(s, j + 4) & 15u) | ((ByteOf(s, j - 4) >> 6) << 4));
    *mn = static_cast<float>((ByteOf(s, j + 4) >> 4) | ((ByteOf(s, j) >> 6) << 4));
  }
}

__device__ __forceinline__ float HalfBits(uint32_t bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits & 0xFFFFu)));
}

template <int MT>
__global__ void __launch_bounds__(kThreads) W4a16Kernel(const W4a16Params p) {
  __shared__ __align__(32) half xs[MT * 16 * kXLd];
  __shared__ __align__(32) half ws[kWarps * 16 * kWLd];
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int tile = static_cast<int>(blockIdx.x) * kWarps + warp;
  const bool active = tile < p.tiles;
  const int sb0 = static_cast<int>(blockIdx.y) * p.sb_per_split;
  const int sb1 = min(p.nsb, sb0 + p.sb_per_split);
  const uint8_t* tile_w = p.w + static_cast<int64_t>(active ? tile : 0) * p.nsb * kW4a16ChunkBytes;
  half* my_ws = ws + warp * 16 * kWLd;
  const int r = lane >> 1;          // the row this lane dequantises
  const int col = 16 * (lane & 1);  // its 16 bytes' first weight within a group half

  // Activation rows M .. 16*MT-1 are zero for the whole kernel.
  for (int i = static_cast<int>(threadIdx.x) + p.m * kXLd; i < MT * 16 * kXLd; i += kThreads) {
    xs[i] = __float2half(0.0f);
  }

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[MT];
#pragma unroll
  for (int t = 0; t < MT; ++t) wmma::fill_fragment(acc[t], 0.0f);

  for (int sb = sb0; sb < sb1; ++sb) {
    uint4 hdr = make_uint4(0, 0, 0, 0);
    uint4 q[4];
#pragma unroll
    for (int g = 0; g < 4; ++g) q[g] = make_uint4(0, 0, 0, 0);
    if (active) {
      const uint8_t* chunk = tile_w + static_cast<int64_t>(sb) * kW4a16ChunkBytes;
      hdr = LoadStreaming(chunk + 16 * r);
#pragma unroll
      for (int g = 0; g < 4; ++g) {
        q[g] = LoadStreaming(chunk + kW4a16HeaderBytes + kW4a16GroupBytes * g + 16 * lane);
      }
    }
    __syncthreads();  // every warp is done with the previous super-block's xs
    for (int i = static_cast<int>(threadIdx.x); i < p.m * 64; i += kThreads) {
      const int row = i >> 6, c4 = i & 63;
      const float4 v = *reinterpret_cast<const float4*>(p.x + row * p.k + sb * 256 + 4 * c4);
      half2* dst = reinterpret_cast<half2*>(xs + row * kXLd + 4 * c4);
      dst[0] = __floats2half2_rn(v.x, v.y);
      dst[1] = __floats2half2_rn(v.z, v.w);
    }
    __syncthreads();
    if (!active) continue;
    const float d = HalfBits(hdr.x), dmin = HalfBits(hdr.x >> 16);
    const uint32_t scales[3] = {hdr.y, hdr.z, hdr.w};
#pragma unroll
    for (int g = 0; g < 4; ++g) {
      float sc0, mn0, sc1, mn1;
      ScaleMin(scales, 2 * g, &sc0, &mn0);
      ScaleMin(scales, 2 * g + 1, &sc1, &mn1);
      const float a0 = d * sc0, b0 = dmin * mn0, a1 = d * sc1, b1 = dmin * mn1;
      const uint32_t words[4] = {q[g].x, q[g].y, q[g].z, q[g].w};
      half* row_ptr = my_ws + r * kWLd + col;
#pragma unroll
      for (int wi = 0; wi < 4; ++wi) {
#pragma unroll
        for (int bi = 0; bi < 4; bi += 2) {
          const uint32_t byte0 = (words[wi] >> (8 * bi)) & 0xFFu;
          const uint32_t byte1 = (words[wi] >> (8 * bi + 8)) & 0xFFu;
          const int l = 4 * wi + bi;
          // Low nibbles: weights 64g + col + l (sub-block 2g); high nibbles:
          // 64g + 32 + col + l (sub-block 2g + 1).
          *reinterpret_cast<half2*>(row_ptr + l) =
              __floats2half2_rn(a0 * static_cast<float>(byte0 & 15u) - b0,
                                a0 * static_cast<float>(byte1 & 15u) - b0);
          *reinterpret_cast<half2*>(row_ptr + 32 + l) =
              __floats2half2_rn(a1 * static_cast<float>(byte0 >> 4) - b1,
                                a1 * static_cast<float>(byte1 >> 4) - b1);
        }
      }
      __syncwarp();
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a;
        wmma::load_matrix_sync(a, my_ws + kk * 16, kWLd);
#pragma unroll
        for (int t = 0; t < MT; ++t) {
          // B (k x m) column-major: element (k, m) at xs[m * kXLd + k].
          wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b;
          wmma::load_matrix_sync(b, xs + t * 16 * kXLd + g * 64 + kk * 16, kXLd);
          wmma::mma_sync(acc[t], a, b, acc[t]);
        }
      }
      __syncwarp();  // the tile is read before the next group overwrites it
    }
  }

  if (!active) return;
  float* stage = reinterpret_cast<float*>(my_ws);  // 16 x 16 floats (1 KiB of the warp's 2304 bytes)
  float* out = p.out + static_cast<int64_t>(blockIdx.y) * p.out_split_stride;
#pragma unroll
  for (int t = 0; t < MT; ++t) {
    wmma::store_matrix_sync(stage, acc[t], 16, wmma::mem_row_major);  // stage[row * 16 + m]
    __syncwarp();
    for (int idx = lane; idx < 256; idx += 32) {
      const int mcol = idx >> 4, row = idx & 15;
      const int mm = t * 16 + mcol, nn = tile * 16 + row;
      if (mm < p.m && nn < p.n) out[static_cast<int64_t>(mm) * p.n + nn] = stage[row * 16 + mcol];
    }
    __syncwarp();
  }
}

// y[i] = sum over splits s = 0, 1, ... of partials[s * count + i], in order.
__global__ void SumSplitsKernel(const float* __restrict__ partials, int splits, int64_t count,
                                float* __restrict__ y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  float sum = partials[i];
  for (int s = 1; s < splits; ++s) sum += partials[s * count + i];
  y[i] = sum;
}

int RowBlocks(int64_t n) {
  const int64_t tiles = (n + kW4a16TileRows - 1) / kW4a16TileRows;
  return static_cast<int>((tiles + kWarps - 1) / kWarps);
}

int SbPerSplit(int64_t k, int splits) {
  const int nsb = static_cast<int>(k / 256);
  return (nsb + splits - 1) / splits;
}

}  // namespace

namespace detail {

// Enough blocks for 2 per SM: the row tiles alone give N/64 blocks (64 for
// N = 4096, too few for a 132-SM H100), so K is split when needed.
int W4a16Splits(int64_t n, int64_t k, int sms) {
  const int nsb = static_cast<int>(k / 256);
  const int row_blocks = RowBlocks(n);
  const int want = (2 * (sms < 1 ? 1 : sms) + row_blocks - 1) / row_blocks;
  int splits = want < 1 ? 1 : want;
  splits = splits > kMaxSplits ? kMaxSplits : splits;
  splits = splits > nsb ? nsb : splits;
  const int per = SbPerSplit(k, splits);
  return (nsb + per - 1) / per;  // no empty split
}

int64_t W4a16PartialFloats(int64_t n, int64_t k, int m, int sms) {
  const int splits = W4a16Splits(n, k, sms);
  return splits > 1 ? static_cast<int64_t>(splits) * m * n : 0;
}

Status LaunchW4a16(const void* weights, const float* x, int m, int64_t n, int64_t k, float* y,
                       float* partials, int sms, cudaStream_t stream) {
  KPOLICY_CHECK_ARG(weights != nullptr && x != nullptr && y != nullptr);
  KPOLICY_CHECK_ARG(m >= 1 && m <= kMaxW4a16Rows);
  KPOLICY_CHECK_ARG(n >= 1 && n < (int64_t{1} << 31) && k >= 256 && k % 256 == 0 && k < (int64_t{1} << 31));
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(weights) % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0);
  const int splits = W4a16Splits(n, k, sms);
  KPOLICY_CHECK_ARG(splits == 1 || partials != nullptr);
  W4a16Params p;
  p.w = static_cast<const uint8_t*>(weights);
  p.x = x;
  p.out = splits > 1 ? partials : y;
  p.out_split_stride = splits > 1 ? static_cast<int64_t>(m) * n : 0;
  p.m = m;
  p.n = static_cast<int>(n);
  p.k = k;
  p.tiles = static_cast<int>((n + kW4a16TileRows - 1) / kW4a16TileRows);
  p.nsb = static_cast<int>(k / 256);
  p.sb_per_split = SbPerSplit(k, splits);
  const dim3 grid(RowBlocks(n), splits);
  switch ((m + 15) / 16) {
    case 1: W4a16Kernel<1><<<grid, kThreads, 0, stream>>>(p); break;
    case 2: W4a16Kernel<2><<<grid, kThreads, 0, stream>>>(p); break;
    case 3: W4a16Kernel<3><<<grid, kThreads, 0, stream>>>(p); break;
    default: W4a16Kernel<4><<<grid, kThreads, 0, stream>>>(p); break;
  }
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  if (splits > 1) {
    const int64_t count = static_cast<int64_t>(m) * n;
    SumSplitsKernel<<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(partials, splits, count, y);
    KPOLICY_CUDA_CHECK(cudaGetLastError());
  }
  return {};
}

}  // namespace detail
}  // namespace kpolicy::kernels::gpu
