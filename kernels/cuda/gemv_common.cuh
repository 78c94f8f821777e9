// Internal to kpolicy_kernels_cuda. The one row-parallel GEMV kernel that
// every variant instantiates with its own "slice" operation, plus the
// checked-call macros and the loads the slices share.
//
// Shape of every GEMV kernel: a *team* of threads owns one output row (all M
// activation rows of it). A team is 16 lanes (half a warp), or warps_per_row
// whole warps. Within the team, groups of Op::kSliceThreads threads take one
// super-block each: thread `slice` of the group reads its part of the block,
// so the team covers team_threads / kSliceThreads super-blocks per step. The
// loop is unrolled twice with both steps' weight loads issued before either
// is used (two super-blocks in flight per thread; one in 1024-thread
// blocks, for registers), then the team reduces with
// __shfl_xor (and shared memory across warps) and M lanes write y.
//
// An Op provides:
//   kSliceThreads, kTeamLanes (16 or 32), kOutputs (1, or 2 for gate+up),
//   kMaxThreads (the __launch_bounds__), struct Frag (registers of one
//   super-block's weights), Load(params, row_offset, sb, slice) -> Frag,
//   Compute<M>(frag, params, sb, slice, acc[kOutputs][M]), and
//   Finish(const float (&v)[kOutputs]) -> float (the epilogue).
#ifndef KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_
#define KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kpolicy/kernels/cuda_status.h"
#include "kpolicy/kernels/gemv_registry.h"

// Evaluates a CUDA runtime call; on failure returns a CudaStatus carrying the
// error and this file:line from the enclosing function.
#define KPOLICY_CUDA_TRY(expr)                                                             \
  do {                                                                                     \
    const cudaError_t kpolicy_err_ = (expr);                                               \
    if (kpolicy_err_ != cudaSuccess) {                                                     \
      return ::kpolicy::kernels::gpu::CudaStatus{static_cast<int>(kpolicy_err_), __FILE__, \
                                                 __LINE__, #expr};                         \
    }                                                                                      \
  } while (0)

// Argument check: returns cudaErrorInvalidValue naming the violated condition.
#define KPOLICY_CHECK_ARG(cond)                                                            \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      return ::kpolicy::kernels::gpu::CudaStatus{static_cast<int>(cudaErrorInvalidValue),  \
                                                 __FILE__, __LINE__,                       \
                                                 "invalid argument: " #cond};              \
    }                                                                                      \
  } while (0)

#define KPOLICY_RETURN_IF_ERROR(status_expr)                                               \
  do {                                                                                     \
    const ::kpolicy::kernels::gpu::CudaStatus kpolicy_st_ = (status_expr);                 \
    if (!kpolicy_st_.ok()) return kpolicy_st_;                                             \
  } while (0)

namespace kpolicy::kernels::gpu::detail {

inline constexpr int kQ4KBlockBytes = 144;
inline constexpr int kQ6KBlockBytes = 210;

inline cudaStream_t ToStream(StreamHandle stream) { return static_cast<cudaStream_t>(stream); }

// Activations as a kernel sees them: float rows for the float path, the
// planar Q8_1 form (gemv_registry.h) for the DP4A path. Row m of each starts
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
  int warps_per_row;     // 1 for kTeamLanes == 16
  int rows_per_block;
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

// An unsigned byte value 0..255 of `v` (byte `index`, a compile-time
// constant after unrolling) as an exact float: the byte placed in the
// mantissa of 2^23, minus 2^23. One PRMT and one FADD instead of an I2F.
__device__ __forceinline__ float ByteToFloat(uint32_t v, int index) {
  return __uint_as_float(__byte_perm(v, 0x4B000000u, 0x7540u + index)) - 8388608.0f;
}

// ---- The kernel ---------------------------------------------------------------

template <class Op, int M>
__global__ void __launch_bounds__(Op::kMaxThreads) GemvKernel(const GemvParams p) {
  constexpr int kSlice = Op::kSliceThreads;
  constexpr int kLanes = Op::kTeamLanes;
  constexpr int kOut = Op::kOutputs;
  // Two super-blocks in flight per thread, except in 1024-thread blocks,
  // where the 64-register budget per thread has no room for a second one.
  constexpr bool kTwoInFlight = Op::kMaxThreads <= 256;
  const int tid = static_cast<int>(threadIdx.x);
  const int team_threads = kLanes * p.warps_per_row;
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
    if constexpr (kTwoInFlight) {
      for (int sb = tt / kSlice; sb < p.nsb; sb += 2 * step) {
        const bool has_second = sb + step < p.nsb;
        const typename Op::Frag first = Op::Load(p, row_offset, sb, slice);
        typename Op::Frag second{};
        if (has_second) second = Op::Load(p, row_offset, sb + step, slice);
        Op::template Compute<M>(first, p, sb, slice, acc);
        if (has_second) Op::template Compute<M>(second, p, sb + step, slice, acc);
      }
    } else {
      for (int sb = tt / kSlice; sb < p.nsb; sb += step) {
        Op::template Compute<M>(Op::Load(p, row_offset, sb, slice), p, sb, slice, acc);
      }
    }
  }

  // Butterfly within the team's lanes (xor offsets below kLanes stay inside
  // an aligned group of kLanes lanes). Every lane of the warp takes part.
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

  if constexpr (kLanes == 32) {
    if (p.warps_per_row > 1) {
      // Lane 0 of each warp leaves its team-partial sums; lane m of the
      // team's first warp adds its team's warps in order (deterministic).
      __shared__ float partial[32][kOut * M];
      const int warp = tid >> 5, lane = tid & 31;
      if (lane == 0) {
#pragma unroll
        for (int o = 0; o < kOut; ++o) {
#pragma unroll
          for (int m = 0; m < M; ++m) partial[warp][o * M + m] = acc[o][m];
        }
      }
      __syncthreads();
      if (row < p.n && tt < M) {
        float v[kOut];
        for (int o = 0; o < kOut; ++o) {
          v[o] = 0.0f;
          for (int w = 0; w < p.warps_per_row; ++w) {
            v[o] += partial[team * p.warps_per_row + w][o * M + tt];
          }
        }
        p.y[static_cast<int64_t>(tt) * p.n + row] = Op::Finish(v);
      }
      return;
    }
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

// Launches GemvKernel<Op, M> for the runtime M (1..8): one block per
// rows_per_block rows, kTeamLanes * warps_per_row * rows_per_block threads.
template <class Op>
CudaStatus LaunchGemvKernel(const GemvParams& p, int m, cudaStream_t stream) {
  const int threads = Op::kTeamLanes * p.warps_per_row * p.rows_per_block;
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
  KPOLICY_CUDA_TRY(cudaGetLastError());
  return {};
}

// The multi-warp variants: blocks of up to 256 threads (mwv_warps <= 8) get
// the register budget for two super-blocks in flight; more warps per row need
// the 1024-thread instantiation.
template <template <int> class OpOf>
CudaStatus LaunchMultiWarp(GemvParams p, int mwv_warps, int m, cudaStream_t stream) {
  KPOLICY_CHECK_ARG(mwv_warps >= 1 && mwv_warps <= kMaxMwvWarps);
  p.warps_per_row = mwv_warps;
  p.rows_per_block = mwv_warps >= 4 ? 1 : 4 / mwv_warps;
  if (mwv_warps <= 8) return LaunchGemvKernel<OpOf<256>>(p, m, stream);
  return LaunchGemvKernel<OpOf<1024>>(p, m, stream);
}

// Checks a GemvArgs against the registry contract and fills the kernel
// parameters common to every variant of `op`.
CudaStatus MakeGemvParams(const GemvArgs& args, GemvOp op, bool quantized, GemvParams* params);

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_GEMV_COMMON_CUH_
