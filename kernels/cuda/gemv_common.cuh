// Internal to kpolicy_kernels. The one row-parallel GEMV kernel that
// every variant instantiates with its own "slice" operation, and the
// loads the slices share (checked calls: kpolicy/kernels/cuda_check.h).
//
// Shape of every GEMV kernel: a *team* of threads owns one output row (all M
// activation rows of it). A team is groups_per_row groups of kTeamLanes lanes
// (16: half-warps, or 32: whole warps). Within the team, groups of
// Op::kSliceThreads threads take one super-block each: thread `slice` of the
// group reads its part of the block, so the team covers team_threads /
// kSliceThreads super-blocks per step. The loop is unrolled Op::kInFlight
// times with every step's weight loads issued before any is used
// (kInFlight super-blocks in flight per thread), then each group reduces
// with __shfl_xor, the team's groups are added in shared memory in group
// order (deterministic), and M lanes write y.
//
// An Op provides:
//   kSliceThreads, kTeamLanes (16 or 32), kOutputs (1, or 2 for gate+up),
//   kMaxThreads (the __launch_bounds__), kInFlight (super-blocks per thread
//   loaded before the first is used), struct Frag (registers of one
//   super-block's weights), Load(params, row_offset, sb, slice) -> Frag,
//   Compute<M>(frag, params, sb, slice, acc[kOutputs][M]), and
//   Finish(const float (&v)[kOutputs]) -> float (the epilogue).
//
// Summation chain (tests/gpu/gpu_test_support.h, h = nsb + 48): a term is
// rounded <= 16 times inside its super-block's Compute, then once per
// super-block the same thread adds after it (<= nsb), then log2(kTeamLanes)
// <= 5 times in the butterfly and <= groups_per_row <= 32 times in the
// cross-group sum. The split launches keep groups_per_row <= 16 with 16-lane
// groups (4 + 16 = 20 <= 32).
#ifndef KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_
#define KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/gemv_variants.h"

namespace kpolicy::kernels::gpu::detail {

inline constexpr int kQ4KBlockBytes = 144;
inline constexpr int kQ6KBlockBytes = 210;

inline cudaStream_t ToStream(StreamHandle stream) { return static_cast<cudaStream_t>(stream); }

// Activations as a kernel sees them: float rows for the float path, the
// planar Q8_1 form (gemv_launch.h) for the DP4A path. Row m of each starts
// at m*k (x, q8) and m*(k/32) (ds).
struct Activations {
  const float* x;
  const int8_t* q8;
  const uint32_t* ds;
  int64_t k;
};

struct GemvParams {
  const uint8_t* w0;     // the weights (gate, for the fused kernel)
  const uint8_t* w1;     // the up weights of the fused kernel; else unused
  int64_t row_bytes;     // bytes per weight row
  int nsb;               // super-blocks per row, K/256
  int n;                 // rows
  Activations act;
  float* y;
  int groups_per_row;    // kTeamLanes-lane groups (half-warps or warps) per row
  int rows_per_block;
  int stage_sb;          // StagedGemvKernel: super-blocks staged per row per trip
  int row_stage_bytes;   // StagedGemvKernel: shared-memory bytes per row (multiple of 16)
};

// ---- Loads ------------------------------------------------------------------

// Weights are read exactly once: keep them out of L1 so that the activations,
// read once per row, stay there (ld.global.nc.L1::no_allocate, sm_70+).
__device__ __forceinline__ uint4 LoadWeightsU4(const uint8_t* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}
__device__ __forceinline__ uint32_t LoadWeightsU32(const uint8_t* p) {
  uint32_t v;
  asm("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ uint32_t LoadWeightsU16(const uint8_t* p) {
  unsigned short v;
  asm("ld.global.nc.L1::no_allocate.u16 %0, [%1];" : "=h"(v) : "l"(p));
  return v;
}
// Four bytes at a 2-byte-aligned address (Q6_K blocks are 210 bytes, so a
// block's fields are only 2-aligned), little-endian.
__device__ __forceinline__ uint32_t LoadWeightsU32Align2(const uint8_t* p) {
  return LoadWeightsU16(p) | (LoadWeightsU16(p + 2) << 16);
}

__device__ __forceinline__ float HalfBitsToFloat(uint32_t bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits & 0xFFFFu)));
}

// The bf16 s in the high half of a planar Q8_1 ds word (gemv_registry.h) as
// a float: a bf16 is a float's top 16 bits, so masking the low half (d) off
// is the exact conversion, Bf16ToFloat on the host.
__device__ __forceinline__ float Q8SumOfDsWord(uint32_t ds_word) {
  return __uint_as_float(ds_word & 0xFFFF0000u);
}

// Byte `index` (0..3, a compile-time constant after unrolling) of `v` as
// the float 2^23 + byte: the byte placed in the mantissa of 2^23, one PRMT.
// A kernel that multiplies it by a scale c can subtract c * 2^23 in the
// same FFMA (exact while c * byte fits 24 bits).
__device__ __forceinline__ float ByteMagic(uint32_t v, int index) {
  return __uint_as_float(__byte_perm(v, 0x4B000000u, 0x7540u + index));
}

// An unsigned byte value 0..255 of `v` as an exact float: ByteMagic minus
// 2^23. One PRMT and one FADD instead of an I2F.
__device__ __forceinline__ float ByteToFloat(uint32_t v, int index) {
  return ByteMagic(v, index) - 8388608.0f;
}

// ---- The kernel ---------------------------------------------------------------

// The end of every GEMV kernel: butterfly within each group of kLanes lanes
// (xor offsets below kLanes stay inside an aligned group; every lane of the
// warp takes part), then, where a team has several groups, lane 0 of each
// group leaves its sums in shared memory and lane m of the team adds its
// team's groups in group order (deterministic). Must be reached by every
// thread of the block (it may hold a __syncthreads).
template <class Op, int M>
__device__ __forceinline__ void ReduceTeamAndStore(float (&acc)[Op::kOutputs][M],
                                                   const GemvParams& p, int tid, int team,
                                                   int tt, int row) {
  constexpr int kLanes = Op::kTeamLanes;
  constexpr int kOut = Op::kOutputs;
#pragma unroll
  for (int o = 0; o < kOut; ++o) {
#pragma unroll
    for (int m = 0; m < M; ++m) {
#pragma unroll
      for (int offset = kLanes / 2; offset > 0; offset >>= 1) {
        acc[o][m] += __shfl_xor_sync(0xFFFFFFFFu, acc[o][m], offset);
      }
    }
  }
  if (p.groups_per_row > 1) {
    __shared__ float partial[Op::kMaxThreads / kLanes][kOut * M];
    const int group = tid / kLanes;
    if (tid % kLanes == 0) {
#pragma unroll
      for (int o = 0; o < kOut; ++o) {
#pragma unroll
        for (int m = 0; m < M; ++m) partial[group][o * M + m] = acc[o][m];
      }
    }
    __syncthreads();
    if (row < p.n && tt < M) {
      float v[kOut];
      for (int o = 0; o < kOut; ++o) {
        v[o] = 0.0f;
        for (int w = 0; w < p.groups_per_row; ++w) {
          v[o] += partial[team * p.groups_per_row + w][o * M + tt];
        }
      }
      p.y[static_cast<int64_t>(tt) * p.n + row] = Op::Finish(v);
    }
    return;
  }
  if (row < p.n && tt < M) {
    float v[kOut];
#pragma unroll
    for (int o = 0; o < kOut; ++o) {
      v[o] = acc[o][0];
#pragma unroll
      for (int m = 1; m < M; ++m) v[o] = (tt == m) ? acc[o][m] : v[o];
    }
    p.y[static_cast<int64_t>(tt) * p.n + row] = Op::Finish(v);
  }
}

template <class Op, int M>
__global__ void __launch_bounds__(Op::kMaxThreads) GemvKernel(const GemvParams p) {
  constexpr int kSlice = Op::kSliceThreads;
  constexpr int kLanes = Op::kTeamLanes;
  constexpr int kOut = Op::kOutputs;
  constexpr int kIn = Op::kInFlight;
  const int tid = static_cast<int>(threadIdx.x);
  const int team_threads = kLanes * p.groups_per_row;
  const int team = tid / team_threads;
  const int tt = tid - team * team_threads;
  const int row = static_cast<int>(blockIdx.x) * p.rows_per_block + team;
  const int slice = tt % kSlice;
  const int step = team_threads / kSlice;

  float acc[kOut][M];
#pragma unroll
  for (int o = 0; o < kOut; ++o) {
#pragma unroll
    for (int m = 0; m < M; ++m) acc[o][m] = 0.0f;
  }

  if (row < p.n) {
    const int64_t row_offset = static_cast<int64_t>(row) * p.row_bytes;
    if constexpr (kIn == 1) {
      for (int sb = tt / kSlice; sb < p.nsb; sb += step) {
        Op::template Compute<M>(Op::Load(p, row_offset, sb, slice), p, sb, slice, acc);
      }
    } else if constexpr (kIn == 2) {
      // (v1's code for two in flight, kept as it was: same registers and
      // instruction schedule for the variants that did not change.)
      for (int sb = tt / kSlice; sb < p.nsb; sb += 2 * step) {
        const bool has_second = sb + step < p.nsb;
        const typename Op::Frag first = Op::Load(p, row_offset, sb, slice);
        typename Op::Frag second{};
        if (has_second) second = Op::Load(p, row_offset, sb + step, slice);
        Op::template Compute<M>(first, p, sb, slice, acc);
        if (has_second) Op::template Compute<M>(second, p, sb + step, slice, acc);
      }
    } else {
      for (int sb = tt / kSlice; sb < p.nsb; sb += kIn * step) {
        // All kIn loads first (independent, so all in flight at once), then
        // the arithmetic in super-block order.
        typename Op::Frag frag[kIn];
#pragma unroll
        for (int i = 0; i < kIn; ++i) {
          if (i == 0 || sb + i * step < p.nsb) {
            frag[i] = Op::Load(p, row_offset, sb + i * step, slice);
          }
        }
#pragma unroll
        for (int i = 0; i < kIn; ++i) {
          if (i == 0 || sb + i * step < p.nsb) {
            Op::template Compute<M>(frag[i], p, sb + i * step, slice, acc);
          }
        }
      }
    }
  }
  ReduceTeamAndStore<Op, M>(acc, p, tid, team, tt, row);
}

// Launches GemvKernel<Op, M> for the runtime M (1..8): one block per
// rows_per_block rows, kTeamLanes * groups_per_row * rows_per_block threads.
template <class Op>
Status LaunchGemvKernel(const GemvParams& p, int m, cudaStream_t stream) {
  const int threads = Op::kTeamLanes * p.groups_per_row * p.rows_per_block;
  KPOLICY_CHECK_ARG(threads >= 32 && threads <= Op::kMaxThreads && threads % 32 == 0);
  const unsigned blocks = static_cast<unsigned>((p.n + p.rows_per_block - 1) / p.rows_per_block);
  switch (m) {
    case 1: GemvKernel<Op, 1><<<blocks, threads, 0, stream>>>(p); break;
    case 2: GemvKernel<Op, 2><<<blocks, threads, 0, stream>>>(p); break;
    case 3: GemvKernel<Op, 3><<<blocks, threads, 0, stream>>>(p); break;
    case 4: GemvKernel<Op, 4><<<blocks, threads, 0, stream>>>(p); break;
    case 5: GemvKernel<Op, 5><<<blocks, threads, 0, stream>>>(p); break;
    case 6: GemvKernel<Op, 6><<<blocks, threads, 0, stream>>>(p); break;
    case 7: GemvKernel<Op, 7><<<blocks, threads, 0, stream>>>(p); break;
    case 8: GemvKernel<Op, 8><<<blocks, threads, 0, stream>>>(p); break;
    default: KPOLICY_CHECK_ARG(m >= 1 && m <= kMaxGemvRows);
  }
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

// ---- Split launches: several half-warps per row --------------------------------
//
// A half-warp per row leaves a long row's super-blocks to be walked one
// after another by 16 threads, with too few loads in flight (v1: 48% of the
// streaming read at 4096 x 14336). The split launches (HwDp4a) give a row
// `groups` half-warps, enough that one trip of the team covers the row: each
// thread then issues all its loads at once and the block finishes after one
// memory latency, and the grid has many more, shorter blocks.
struct HalfWarpSplit {
  int groups;  // 16-lane groups per row, 1..16
  int rows;    // rows per block; 16 * groups * rows is a multiple of 32, <= 256
};

// `sb_per_group`: super-blocks one half-warp covers per trip (slices per
// step times Op::kInFlight). `sms`: the device's multiprocessor count.
// `block_groups`: half-warps per block when several rows share a block (16:
// 256 threads; 14: 224 threads, which packs 4 blocks = 28 warps into an SM's
// 64K registers at 65..72 registers per thread where 256 packs only 3).
inline HalfWarpSplit ChooseHalfWarpSplit(int64_t n, int nsb, int sb_per_group, int sms,
                                         int block_groups = 16) {
  int g = (nsb + sb_per_group - 1) / sb_per_group;
  g = g < 1 ? 1 : (g > 16 ? 16 : g);
  if (g > 8 && g % 2 != 0) ++g;  // a block of one row must be whole warps
  int r = block_groups / g;      // up to 16 * block_groups threads per block
  if (r < 1) r = 1;              // g > block_groups: one row (<= 256 threads)
  if ((g * r) % 2 != 0) --r;     // whole warps (g odd <= 7 leaves r >= 2)
  // Fewer rows per block while the grid would have under two blocks per SM
  // (small N), keeping whole warps.
  while ((n + r - 1) / r < 2 * static_cast<int64_t>(sms)) {
    int half = r / 2;
    if ((g * half) % 2 != 0) --half;
    if (half < 1) break;
    r = half;
  }
  return {g, r};
}

// The current device's multiprocessor count (a cached attribute query).
inline Status CurrentSmCount(int* sms) {
  int device = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device));
  if (*sms < 1) *sms = 1;
  return {};
}

// ---- Staged kernel: weights through shared memory ---------------------------------
//
// For formats whose blocks are not 16-byte aligned (Q6_K: 210 bytes, 2-byte
// aligned): per trip, each team copies stage_sb consecutive super-blocks of
// its row into shared memory with 16-byte loads of the 16-byte-aligned
// middle of the byte range and 2-byte loads of its (<= 14-byte) head and
// tail, then computes from shared memory (Op::LoadStaged). Byte b of the
// range lands at buf + (range_start % 16) + b, so the 16-byte stores are
// aligned too. Every thread of the block passes every __syncthreads: rows
// past N skip only the copies and the arithmetic. Team layout, slices and
// reduction as GemvKernel (one super-block per kSliceThreads threads per
// step; a thread adds its super-blocks in increasing order).
inline constexpr int kStageLoadsPerThread = 4;

template <class Op, int M>
__global__ void __launch_bounds__(Op::kMaxThreads) StagedGemvKernel(const GemvParams p) {
  static_assert(Op::kOutputs == 1, "the staged kernel has one output");
  extern __shared__ uint4 stage_smem[];
  constexpr int kSlice = Op::kSliceThreads;
  constexpr int kLanes = Op::kTeamLanes;
  constexpr int kBlockBytes = Op::kBlockBytes;
  const int tid = static_cast<int>(threadIdx.x);
  const int team_threads = kLanes * p.groups_per_row;
  const int team = tid / team_threads;
  const int tt = tid - team * team_threads;
  const int row = static_cast<int>(blockIdx.x) * p.rows_per_block + team;
  const int slice = tt % kSlice;
  const int step = team_threads / kSlice;
  uint8_t* const buf = reinterpret_cast<uint8_t*>(stage_smem) + team * p.row_stage_bytes;
  const uint8_t* const row_ptr = p.w0 + static_cast<int64_t>(row < p.n ? row : 0) * p.row_bytes;

  float acc[1][M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[0][m] = 0.0f;

  for (int sb0 = 0; sb0 < p.nsb; sb0 += p.stage_sb) {
    const int count = p.nsb - sb0 < p.stage_sb ? p.nsb - sb0 : p.stage_sb;
    const uint8_t* const src = row_ptr + static_cast<int64_t>(sb0) * kBlockBytes;
    const int mis = static_cast<int>(reinterpret_cast<uintptr_t>(src) & 15);  // even
    uint8_t* const dst = buf + mis;  // dst + b holds byte src[b]
    if (row < p.n) {
      const int len = count * kBlockBytes;
      const int head = (16 - mis) & 15;       // src + head is 16-byte aligned
      const int n16 = (len - head) >> 4;      // whole 16-byte vectors after the head
      const int tail = head + 16 * n16;       // [tail, len): < 16 bytes
      for (int j0 = 0; j0 < n16; j0 += kStageLoadsPerThread * team_threads) {
        uint4 v[kStageLoadsPerThread];
#pragma unroll
        for (int i = 0; i < kStageLoadsPerThread; ++i) {
          const int j = j0 + tt + i * team_threads;
          if (j < n16) v[i] = LoadWeightsU4(src + head + 16 * j);
        }
#pragma unroll
        for (int i = 0; i < kStageLoadsPerThread; ++i) {
          const int j = j0 + tt + i * team_threads;
          if (j < n16) *reinterpret_cast<uint4*>(dst + head + 16 * j) = v[i];
        }
      }
      // Head and tail, 2 bytes per thread (at most 7 each; len and mis are even).
      if (2 * tt < head && 2 * tt < len) {
        *reinterpret_cast<uint16_t*>(dst + 2 * tt) =
            static_cast<uint16_t>(LoadWeightsU16(src + 2 * tt));
      }
      if (tail + 2 * tt < len) {
        *reinterpret_cast<uint16_t*>(dst + tail + 2 * tt) =
            static_cast<uint16_t>(LoadWeightsU16(src + tail + 2 * tt));
      }
    }
    __syncthreads();
    if (row < p.n) {
      for (int s = tt / kSlice; s < count; s += step) {
        Op::template Compute<M>(Op::LoadStaged(dst + s * kBlockBytes, slice), p, sb0 + s, slice,
                                acc);
      }
    }
    if (sb0 + p.stage_sb < p.nsb) __syncthreads();  // the buffer is refilled next trip
  }
  ReduceTeamAndStore<Op, M>(acc, p, tid, team, tt, row);
}

// Launches StagedGemvKernel<Op, M>: one block per rows_per_block rows,
// rows_per_block * row_stage_bytes of dynamic shared memory.
template <class Op>
Status LaunchStagedGemvKernel(const GemvParams& p, int m, cudaStream_t stream) {
  const int threads = Op::kTeamLanes * p.groups_per_row * p.rows_per_block;
  KPOLICY_CHECK_ARG(threads >= 32 && threads <= Op::kMaxThreads && threads % 32 == 0);
  KPOLICY_CHECK_ARG(p.stage_sb >= 1 && p.row_stage_bytes % 16 == 0 &&
                    p.row_stage_bytes >= p.stage_sb * Op::kBlockBytes + 14);
  const size_t smem = static_cast<size_t>(p.rows_per_block) * p.row_stage_bytes;
  KPOLICY_CHECK_ARG(smem <= 48 * 1024);
  const unsigned blocks = static_cast<unsigned>((p.n + p.rows_per_block - 1) / p.rows_per_block);
  switch (m) {
    case 1: StagedGemvKernel<Op, 1><<<blocks, threads, smem, stream>>>(p); break;
    case 2: StagedGemvKernel<Op, 2><<<blocks, threads, smem, stream>>>(p); break;
    case 3: StagedGemvKernel<Op, 3><<<blocks, threads, smem, stream>>>(p); break;
    case 4: StagedGemvKernel<Op, 4><<<blocks, threads, smem, stream>>>(p); break;
    case 5: StagedGemvKernel<Op, 5><<<blocks, threads, smem, stream>>>(p); break;
    case 6: StagedGemvKernel<Op, 6><<<blocks, threads, smem, stream>>>(p); break;
    case 7: StagedGemvKernel<Op, 7><<<blocks, threads, smem, stream>>>(p); break;
    case 8: StagedGemvKernel<Op, 8><<<blocks, threads, smem, stream>>>(p); break;
    default: KPOLICY_CHECK_ARG(m >= 1 && m <= kMaxGemvRows);
  }
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

// ---- Streaming kernel: a persistent grid, weights through a cp.async ring ---------
//
// v3 (kernels/cuda/PERF_NOTES.md): the one-trip blocks of GemvKernel and
// StagedGemvKernel leave the memory system idle between a block's loads and
// its successor's (ncu, v2: DRAM 54% / 39% busy, warps stalled on L1TEX
// scoreboards 50% of the time, occupancy 38% capped by registers, 3.9-7.8
// waves). Here a grid of (blocks per SM x SMs) blocks of 256 threads walks
// the matrix in tiles of rows_per_block consecutive rows (contiguous bytes):
// each tile is copied into one of kStreamStages shared-memory stages with
// 16-byte cp.async (no registers held while in flight), kStreamStages - 1
// tiles ahead of the one being computed, so every SM keeps up to
// 3 x 11.5 KB per block in flight without pause. Within a tile the team
// layout, slices, per-thread super-block order and reduction are those of
// GemvKernel (ReduceTeamAndStore), so the summation chain is unchanged.
// Preconditions (checked by ChooseStreamTile's caller): weights and
// row_bytes 16-byte aligned, sm_80+ (cp.async).
inline constexpr int kStreamStages = 4;
inline constexpr int kStreamThreads = 256;               // 16 half-warps
inline constexpr int kStreamStageBytes = 47104 / kStreamStages;  // 4 stages <= 46 KB

__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(gmem) : "memory");
#else
  (void)smem;
  (void)gmem;
#endif
}
__device__ __forceinline__ void CpAsyncCommit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
#endif
}

template <class Op, int M>
__global__ void __launch_bounds__(kStreamThreads) StreamGemvKernel(const GemvParams p) {
  static_assert(Op::kOutputs == 1, "the streaming kernel has one output");
  static_assert(Op::kMaxThreads >= kStreamThreads, "partials sized for the block");
  extern __shared__ uint4 stage_smem[];
  constexpr int kSlice = Op::kSliceThreads;
  constexpr int kLanes = Op::kTeamLanes;
  constexpr int kBlockBytes = Op::kBlockBytes;
  const int tid = static_cast<int>(threadIdx.x);
  const int team_threads = kLanes * p.groups_per_row;
  const int team = tid / team_threads;
  const int tt = tid - team * team_threads;
  const int slice = tt % kSlice;
  const int step = team_threads / kSlice;
  const int rows = p.rows_per_block;
  const int tiles = (p.n + rows - 1) / rows;
  const int stage_bytes = p.row_stage_bytes;
  uint8_t* const smem = reinterpret_cast<uint8_t*>(stage_smem);

  // Copies tile `tile` (if any) into stage `stage`; always commits a group,
  // so that the wait counts are the same for every thread and iteration.
  auto issue = [&](int tile, int stage) {
    if (tile < tiles) {
      const int first = tile * rows;
      const int nrows = p.n - first < rows ? p.n - first : rows;
      const int vectors = static_cast<int>(nrows * p.row_bytes / 16);
      const uint8_t* src = p.w0 + static_cast<int64_t>(first) * p.row_bytes;
      uint8_t* dst = smem + stage * stage_bytes;
      for (int j = tid; j < vectors; j += kStreamThreads) CpAsync16(dst + 16 * j, src + 16 * j);
    }
    CpAsyncCommit();
  };

  const int grid = static_cast<int>(gridDim.x);
  int tile = static_cast<int>(blockIdx.x);
#pragma unroll
  for (int s = 0; s < kStreamStages - 1; ++s) issue(tile + s * grid, s);
  int stage = 0;
  for (; tile < tiles; tile += grid) {
    CpAsyncWait<kStreamStages - 2>();  // this tile's group has landed (own copies)
    __syncthreads();                   // everyone's copies; last tile's stage is free
    issue(tile + (kStreamStages - 1) * grid, stage == 0 ? kStreamStages - 1 : stage - 1);
    float acc[1][M];
#pragma unroll
    for (int m = 0; m < M; ++m) acc[0][m] = 0.0f;
    const int row = tile * rows + team;
    if (row < p.n) {
      const uint8_t* const rowbuf =
          smem + stage * stage_bytes + static_cast<int64_t>(team) * p.row_bytes;
      for (int sb = tt / kSlice; sb < p.nsb; sb += step) {
        Op::template Compute<M>(Op::LoadStaged(rowbuf + sb * kBlockBytes, slice), p, sb, slice,
                                acc);
      }
    }
    ReduceTeamAndStore<Op, M>(acc, p, tid, team, tt, row);
    stage = stage == kStreamStages - 1 ? 0 : stage + 1;
  }
  CpAsyncWait<0>();
}

// Tile shape for StreamGemvKernel: the most rows (1, 2, 4, 8 or 16) whose
// bytes fit one stage, and 16 / rows half-warps per row. rows == 0: the
// streaming kernel does not apply (a row larger than a stage, unaligned
// weights or rows, or a device without cp.async); use the v2 kernels.
struct StreamTile {
  int rows = 0;
  int groups = 0;
};
inline StreamTile ChooseStreamTile(const GemvParams& p, int cc) {
  StreamTile t;
  if (cc < 80 || p.row_bytes % 16 != 0 || reinterpret_cast<uintptr_t>(p.w0) % 16 != 0 ||
      p.row_bytes > kStreamStageBytes) {
    return t;
  }
  int rows = 16;
  while (rows > 1 && rows * p.row_bytes > kStreamStageBytes) rows /= 2;
  t.rows = rows;
  t.groups = 16 / rows;
  return t;
}

// The current device's compute capability as major*10+minor.
inline Status CurrentComputeCapability(int* cc) {
  int device = 0, major = 0, minor = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  *cc = 10 * major + minor;
  return {};
}

// Launches StreamGemvKernel<Op, M> with tile `t`: min(tiles, resident
// blocks) blocks of 256 threads, kStreamStages stages of dynamic shared memory.
template <class Op, int M>
Status LaunchStreamGemvKernelM(GemvParams p, const StreamTile& t, int sms,
                                   cudaStream_t stream) {
  p.rows_per_block = t.rows;
  p.groups_per_row = t.groups;
  p.row_stage_bytes = static_cast<int>(t.rows * p.row_bytes);
  const size_t smem = static_cast<size_t>(kStreamStages) * p.row_stage_bytes;
  // Resident blocks per SM for this instantiation at the largest stage
  // (computed once; the answer for smaller stages is no lower).
  static int per_sm = 0;  // benign race: every writer stores the same value
  if (per_sm == 0) {
    int b = 0;
    KPOLICY_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &b, StreamGemvKernel<Op, M>, kStreamThreads,
        static_cast<size_t>(kStreamStages) * kStreamStageBytes));
    per_sm = b < 1 ? 1 : b;
  }
  const int64_t tiles = (p.n + t.rows - 1) / t.rows;
  const int64_t resident = static_cast<int64_t>(per_sm) * sms;
  const unsigned blocks = static_cast<unsigned>(tiles < resident ? tiles : resident);
  StreamGemvKernel<Op, M><<<blocks, kStreamThreads, smem, stream>>>(p);
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return {};
}

template <class Op>
Status LaunchStreamGemvKernel(const GemvParams& p, const StreamTile& t, int m, int sms,
                                  cudaStream_t stream) {
  switch (m) {
    case 1: return LaunchStreamGemvKernelM<Op, 1>(p, t, sms, stream);
    case 2: return LaunchStreamGemvKernelM<Op, 2>(p, t, sms, stream);
    case 3: return LaunchStreamGemvKernelM<Op, 3>(p, t, sms, stream);
    case 4: return LaunchStreamGemvKernelM<Op, 4>(p, t, sms, stream);
    case 5: return LaunchStreamGemvKernelM<Op, 5>(p, t, sms, stream);
    case 6: return LaunchStreamGemvKernelM<Op, 6>(p, t, sms, stream);
    case 7: return LaunchStreamGemvKernelM<Op, 7>(p, t, sms, stream);
    case 8: return LaunchStreamGemvKernelM<Op, 8>(p, t, sms, stream);
    default: KPOLICY_CHECK_ARG(m >= 1 && m <= kMaxGemvRows);
  }
  return {};
}

// The multi-warp variants: blocks of up to 256 threads (mwv_warps <= 8) get
// the register budget for two super-blocks in flight; more warps per row need
// the 1024-thread instantiation.
template <template <int> class OpOf>
Status LaunchMultiWarp(GemvParams p, int mwv_warps, int m, cudaStream_t stream) {
  KPOLICY_CHECK_ARG(mwv_warps >= 1 && mwv_warps <= kMaxMwvWarps);
  p.groups_per_row = mwv_warps;
  p.rows_per_block = mwv_warps >= 4 ? 1 : 4 / mwv_warps;
  if (mwv_warps <= 8) return LaunchGemvKernel<OpOf<256>>(p, m, stream);
  return LaunchGemvKernel<OpOf<1024>>(p, m, stream);
}

// Checks a GemvArgs against the registry contract and fills the kernel
// parameters common to every variant of `op`.
Status MakeGemvParams(const GemvArgs& args, GemvOp op, bool quantized, GemvParams* params);

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_
