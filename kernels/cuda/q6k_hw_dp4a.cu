// Q6_K HwDp4a: 16 threads (a half-warp) per super-block (16 weights each: four 4-weight runs, one
// per quarter, four DP4As per activation row), direct scale loads, Q8_1 activations.
//
// v2 (kernels/cuda/PERF_NOTES.md): a 210-byte block is only 2-byte aligned, and v1's eleven
// 2-byte global loads per thread per super-block kept few bytes in flight (29% of the streaming
// read at 4096 x 14336). Now a row gets `groups` half-warps (ChooseHalfWarpSplit: enough that
// one trip of 4 super-blocks per half-warp covers the row, up to 16 half-warps; 64 super-blocks
// per trip beyond), and StagedGemvKernel copies the trip's bytes of the row into shared memory
// with 16-byte loads (2-byte loads for the unaligned <= 14-byte head and tail) before the
// half-warps compute from shared memory. Rows per block: up to 256 threads, fewer while the
// grid has under two blocks per SM.
//
// v3: where rows are whole 16-byte vectors (K a multiple of 2048) and fit a stage (K <= 14336),
// with 16-byte aligned weights on sm_80+, StreamGemvKernel instead (gemv_common.cuh): a
// persistent grid streaming tiles of 1-16 rows through a 4-stage cp.async ring; v2's staged
// launch stays for the other shapes and alignments.
//
// v4 (issue 12): before either, the ring (gemv_ring.cuh, Q6kRingDp4aOp) on sm_90 at M <= 4 under
// the same alignment conditions; StreamGemvKernel is what sm_80/sm_89 get.
#include "gemv_ring.cuh"
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

namespace {
constexpr int kSbPerGroup = 4;  // super-blocks per half-warp per trip
}  // namespace

Status LaunchQ6kHwDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ6K, true, &p));
  int sms = 1, cc = 0;
  KPOLICY_TRY(CurrentSmCount(&sms));
  KPOLICY_TRY(CurrentComputeCapability(&cc));
  using Q6kHwDp4aOp = Q6kSlice16Op</*kDp4a=*/true, /*kLanes=*/16, 256>;
  bool launched = false;
  KPOLICY_TRY(TryLaunchRing<Q6kRingDp4aOp>(p, args.m, ToStream(args.stream), args.programmatic, &launched));
  if (launched) return {};
  // v3: the streaming kernel where rows are whole 16-byte vectors (K a multiple of 2048), the
  // weights 16-byte aligned and a row fits a stage (K <= 14336) on sm_80+.
  const StreamTile tile = ChooseStreamTile(p, cc);
  if (tile.rows > 0) return LaunchStreamGemvKernel<Q6kHwDp4aOp>(p, tile, args.m, sms, ToStream(args.stream));
  const HalfWarpSplit split = ChooseHalfWarpSplit(p.n, p.nsb, kSbPerGroup, sms);
  p.groups_per_row = split.groups;
  p.rows_per_block = split.rows;
  p.stage_sb = split.groups * kSbPerGroup < p.nsb ? split.groups * kSbPerGroup : p.nsb;
  p.row_stage_bytes = (p.stage_sb * kQ6KBlockBytes + 14 + 15) / 16 * 16;
  return LaunchStagedGemvKernel<Q6kHwDp4aOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
