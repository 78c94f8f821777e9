// Internal to kpolicy_kernels. RingGemvKernel: the persistent, activation-stationary GEMV that
// q4k and q6k HwDp4a, q6k Mwv and the fused HwDp4a gate+up launch on sm_90 (issue 12;
// kernels/cuda/PERF_NOTES.md, "Ring"). An Op (q4k_slices.cuh, q6k_slices.cuh) says how a lane
// keeps its activations (Act<M>, LoadAct) and adds its part of one row (Row); kMaxM bounds M.
//
// Why. At M = 1 a GEMV reads each weight byte once; what keeps a kernel from the streaming read
// is (a) too little in flight (every earlier kernel held its loads in registers, so occupancy
// capped the bytes in flight), and (b) instructions per weight byte. Here one producer warp per
// block streams whole weight rows into an S-stage shared-memory ring with 1-D bulk copies (the
// TMA engine: no registers held, completion counted on an mbarrier), so the bytes in flight are
// S x the stage size whatever the consumers do; and each consumer lane owns a fixed slice of K
// for the whole kernel with its activations in registers, so no activation is ever reloaded and
// the min term's activation sums are computed once per lane, not once per row.
//
// Shape. A block is W consumer warps plus the producer warp. Consumer warps form teams of
// warps_per_team = ceil(nsb * L / 32) warps; lane `slot` of a team owns part slot % L of
// super-block slot / L (Op::kLanesPerBlock<M> = L lanes per super-block), so a team covers a
// whole row and a block holds `teams` = W / warps_per_team of them. A stage is rows_per_stage =
// teams * kRowsPerTeam consecutive rows (contiguous bytes: one bulk copy); team t takes rows
// t*kRowsPerTeam.. of it. Blocks take stages round-robin (stage item i of block b is rows
// (b + i * gridDim.x) * rows_per_stage ..), the grid being min(items, resident blocks).
// A row's sum: each lane's part (Op::Row), a 5-level butterfly per warp, then warp 0 of the team
// adds its warps' sums in warp order after a named barrier: deterministic.
//
// Summation chain (both arithmetic classes' bounds, gemv_variants.h): a lane adds its own terms
// of one row (Op::Row says how many roundings), then 5 butterfly levels and <= warps_per_team
// (<= W) additions: h <= Op::kRowRoundings + 5 + W.
//
// Programmatic dependent launch: the kernel lets the next grid launch as soon as every block has
// started (griddepcontrol.launch_dependents) and waits for the previous grid
// (griddepcontrol.wait) before it reads activations or writes y; the producer streams weights
// before that wait. So with RingLaunch::programmatic, the weight stream of this GEMV overlaps the
// tail of the kernel before it, which is correct only when that kernel does not write the
// weights (the launch option says so); without it the wait returns at once.
//
// Preconditions (RingGemvApplies): sm_90 (bulk copies, mbarrier parity waits, griddepcontrol),
// row bytes and the weights 16-byte aligned, warps_per_team <= W, the stages within the
// shared-memory budget. Compiled for every architecture; below sm_90 the kernel traps.
#ifndef KPOLICY_KERNELS_CUDA_GEMV_RING_CUH_
#define KPOLICY_KERNELS_CUDA_GEMV_RING_CUH_

#include <algorithm>

#include "gemv_common.cuh"

namespace kpolicy::kernels::gpu::detail {

inline constexpr int kRingWarps = 14;       // consumer warps (+1 producer): 480 threads
inline constexpr int kRingStages = 4;       // ring depth
inline constexpr int kRowsPerTeam = 1;      // rows a team takes per stage
inline constexpr int kRingMaxTeams = 15;    // named barriers 1..15 (0 is __syncthreads)
inline constexpr int kRingStageBudget = 200 * 1024;  // S stages of weights, bytes

struct RingParams {
  const uint8_t* w;
  const uint8_t* w_up;  // fused gate+up (kMatrices == 2): the up matrix; w is the gate
  Activations act;     // float x, or planar Q8_1 (gemv_common.cuh)
  float* y;
  int n, nsb;
  int64_t row_bytes;
  int slots;           // lanes per row: nsb * L
  int warps_per_team;  // ceil(slots / 32)
  int teams;           // kRingWarps / warps_per_team
  int rows_per_stage;  // output rows per stage: teams * kRowsPerTeam
  int items;           // ceil(n / rows_per_stage)
};

// ---- sm_90 primitives ------------------------------------------------------------------------
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ uint32_t SmemAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void MbarrierInit(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(SmemAddress(bar)), "r"(count) : "memory");
}
// The producer's arrival, announcing `bytes` of bulk copies that complete the phase.
__device__ __forceinline__ void MbarrierArriveExpect(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(SmemAddress(bar)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void MbarrierArrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(SmemAddress(bar)) : "memory");
}
__device__ __forceinline__ void MbarrierWait(uint64_t* bar, uint32_t parity) {
  const uint32_t address = SmemAddress(bar);
  uint32_t done = 0;
  while (!done) {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        " selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(address), "r"(parity)
        : "memory");
  }
}
// `bytes` (a multiple of 16) from 16-byte aligned global memory into shared memory, counted on bar.
__device__ __forceinline__ void BulkCopyToShared(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   SmemAddress(dst)),
               "l"(src), "r"(bytes), "r"(SmemAddress(bar))
               : "memory");
}
#endif

// kMatrices == 2: the fused gate+up+SwiGLU of the FFN input; a stage holds rows_per_stage gate
// rows, then the same up rows, a team takes row t of both, and warp 0 writes silu(g) * u with
// silu(g) = g / (1 + expf(-g)) in fp32 (the fused kernels' epilogue, gemv_launch.h).
template <class Op, int M, int kMatrices>
__global__ void __launch_bounds__((kRingWarps + 1) * 32) RingGemvKernel(const RingParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr int L = Op::template kLanesPerBlock<M>;
  constexpr int R = kRowsPerTeam * kMatrices;  // rows a team sums per stage
  extern __shared__ __align__(128) uint8_t ring[];
  const int matrix_bytes = p.rows_per_stage * static_cast<int>(p.row_bytes);  // one matrix's rows
  const int stage_bytes = kMatrices * matrix_bytes;
  uint64_t* full = reinterpret_cast<uint64_t*>(ring + kRingStages * stage_bytes);
  uint64_t* empty = full + kRingStages;
  float* partials = reinterpret_cast<float*>(empty + kRingStages);  // [2][teams][R][warps][M]
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kRingStages; ++s) {
      MbarrierInit(&full[s], 1);
      MbarrierInit(&empty[s], kRingWarps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  const int grid = static_cast<int>(gridDim.x), block = static_cast<int>(blockIdx.x);
  const int items = (p.items - block + grid - 1) / grid;

  if (warp == kRingWarps) {  // the producer: weights only, so it never waits for the previous grid
    if (lane == 0) {
      for (int i = 0; i < items; ++i) {
        const int s = i % kRingStages;
        if (i >= kRingStages) MbarrierWait(&empty[s], ((i / kRingStages) - 1) & 1);
        const int row0 = (block + i * grid) * p.rows_per_stage;
        const int rows = min(p.rows_per_stage, p.n - row0);
        const uint32_t bytes = static_cast<uint32_t>(rows * p.row_bytes);
        MbarrierArriveExpect(&full[s], kMatrices * bytes);
        BulkCopyToShared(ring + s * stage_bytes, p.w + static_cast<int64_t>(row0) * p.row_bytes, bytes, &full[s]);
        if (kMatrices == 2) {
          BulkCopyToShared(ring + s * stage_bytes + matrix_bytes, p.w_up + static_cast<int64_t>(row0) * p.row_bytes,
                           bytes, &full[s]);
        }
      }
    }
    return;
  }

  const int team = warp / p.warps_per_team, u = warp % p.warps_per_team;
  const bool in_team = team < p.teams;
  const int slot = u * 32 + lane;
  const bool active = in_team && slot < p.slots;
  const int sb = slot / L, part = slot % L;

  asm volatile("griddepcontrol.wait;" ::: "memory");
  typename Op::template Act<M> act;
  if (active) Op::template LoadAct<M>(act, p.act, sb, part);

  const int wpt = p.warps_per_team;
  for (int i = 0; i < items; ++i) {
    const int s = i % kRingStages;
    MbarrierWait(&full[s], (i / kRingStages) & 1);
    float acc[R][M];  // row r: matrix r / kRowsPerTeam, row team * kRowsPerTeam + r % kRowsPerTeam
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;
    }
    if (active) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const uint8_t* row = ring + s * stage_bytes + (r / kRowsPerTeam) * matrix_bytes +
                             (team * kRowsPerTeam + r % kRowsPerTeam) * static_cast<int>(p.row_bytes);
        Op::template Row<M>(row + sb * Op::kBlockBytes, act, part, acc[r]);
      }
    }
    __syncwarp();
    if (lane == 0) MbarrierArrive(&empty[s]);  // this warp is done with the stage
    if (!in_team) continue;
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
    // Double-buffered by item parity: a warp may write item i+1's sums while warp 0 still reads
    // item i's; item i+2's writes come after the next barrier, which warp 0 passes after reading.
    float* sums = partials + ((i & 1) * p.teams + team) * R * wpt * M;
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int m = 0; m < M; ++m) sums[(r * wpt + u) * M + m] = acc[r][m];
      }
    }
    if (wpt > 1) {
      asm volatile("bar.sync %0, %1;" ::"r"(1 + team), "r"(wpt * 32) : "memory");
    } else {
      __syncwarp();
    }
    if (u == 0 && lane < kRowsPerTeam * M) {
      const int r = lane / M, m = lane - (lane / M) * M;
      float v[kMatrices];
#pragma unroll
      for (int mat = 0; mat < kMatrices; ++mat) {
        v[mat] = 0.0f;
        for (int q = 0; q < wpt; ++q) v[mat] += sums[((mat * kRowsPerTeam + r) * wpt + q) * M + m];
      }
      const float out = kMatrices == 2 ? v[0] / (1.0f + expf(-v[0])) * v[kMatrices - 1] : v[0];
      const int row = (block + i * grid) * p.rows_per_stage + team * kRowsPerTeam + r;
      if (row < p.n) p.y[static_cast<int64_t>(m) * p.n + row] = out;
    }
  }
#else
  __trap();  // RingGemvApplies keeps launches to sm_90 and later
#endif
}

// How a ring launch is laid out for a problem; `applies` false where the preconditions fail.
struct RingShape {
  bool applies = false;
  RingParams params{};
  size_t smem_bytes = 0;
};

template <class Op, int M, int kMatrices>
RingShape PlanRing(const GemvParams& g, int cc) {
  constexpr int L = Op::template kLanesPerBlock<M>;
  RingShape shape;
  RingParams& p = shape.params;
  p.w = g.w0;
  p.w_up = g.w1;
  p.act = g.act;
  p.y = g.y;
  p.n = g.n;
  p.nsb = g.nsb;
  p.row_bytes = g.row_bytes;
  p.slots = g.nsb * L;
  p.warps_per_team = (p.slots + 31) / 32;
  p.teams = p.warps_per_team > 0 ? kRingWarps / p.warps_per_team : 0;
  if (p.teams > kRingMaxTeams) p.teams = kRingMaxTeams;
  p.rows_per_stage = p.teams * kRowsPerTeam;
  p.items = p.rows_per_stage > 0 ? (g.n + p.rows_per_stage - 1) / p.rows_per_stage : 0;
  const size_t stage = kMatrices * static_cast<size_t>(p.rows_per_stage) * static_cast<size_t>(p.row_bytes);
  shape.smem_bytes = kRingStages * stage + 2 * kRingStages * sizeof(uint64_t) +
                     2 * sizeof(float) * p.teams * kRowsPerTeam * kMatrices * p.warps_per_team * M;
  shape.applies = cc >= 90 && p.teams >= 1 && g.row_bytes % 16 == 0 &&
                  reinterpret_cast<uintptr_t>(g.w0) % 16 == 0 &&
                  (kMatrices == 1 || reinterpret_cast<uintptr_t>(g.w1) % 16 == 0) &&
                  kRingStages * stage <= kRingStageBudget &&
                  stage < (size_t{1} << 20);  // an mbarrier phase counts < 2^20 bytes
  return shape;
}

// Launches a planned ring (shape.applies) on `stream`; `programmatic`: see above.
template <class Op, int M, int kMatrices>
Status LaunchRing(const RingShape& shape, cudaStream_t stream, bool programmatic) {
  const auto kernel = RingGemvKernel<Op, M, kMatrices>;
  constexpr int kThreads = (kRingWarps + 1) * 32;
  KPOLICY_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(shape.smem_bytes)));
  int per_sm = 0, sms = 1;
  KPOLICY_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, shape.smem_bytes));
  KPOLICY_TRY(CurrentSmCount(&sms));
  KPOLICY_CHECK_ARG(per_sm >= 1);
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(std::min<int64_t>(shape.params.items, int64_t{per_sm} * sms)));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shape.smem_bytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = programmatic ? 1 : 0;
  KPOLICY_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, shape.params));
  return {};
}

template <class Op, int M, int kMatrices>
Status TryRingM(const GemvParams& g, int cc, cudaStream_t stream, bool programmatic, bool* launched) {
  const RingShape shape = PlanRing<Op, M, kMatrices>(g, cc);
  if (!shape.applies) return {};
  KPOLICY_TRY((LaunchRing<Op, M, kMatrices>(shape, stream, programmatic)));
  *launched = true;
  return {};
}

// Launches the ring GEMV of Op for `g` when it applies (M <= Op::kMaxM and PlanRing's
// preconditions on the current device); *launched says whether it did, so the caller can fall
// back to its variant's other kernel. kMatrices == 2: the fused gate (g.w0) + up (g.w1) product.
template <class Op, int kMatrices = 1>
Status TryLaunchRing(const GemvParams& g, int m, cudaStream_t stream, bool programmatic, bool* launched) {
  static_assert(Op::kMaxM >= 1 && Op::kMaxM <= 4);
  *launched = false;
  if (m < 1 || m > Op::kMaxM) return {};
  int cc = 0;
  KPOLICY_TRY(CurrentComputeCapability(&cc));
  switch (m) {
    case 1: return TryRingM<Op, 1, kMatrices>(g, cc, stream, programmatic, launched);
    case 2: return TryRingM<Op, (Op::kMaxM >= 2 ? 2 : 1), kMatrices>(g, cc, stream, programmatic, launched);
    case 3: return TryRingM<Op, (Op::kMaxM >= 3 ? 3 : 1), kMatrices>(g, cc, stream, programmatic, launched);
    default: return TryRingM<Op, (Op::kMaxM >= 4 ? 4 : 1), kMatrices>(g, cc, stream, programmatic, launched);
  }
}

}  // namespace kpolicy::kernels::gpu::detail

#endif  // KPOLICY_KERNELS_CUDA_GEMV_RING_CUH_
