// Q4_K HwDp4a, the fast path: 8 threads per super-block (two super-blocks per half-warp step),
// 16-byte loads of qs and of the header (direct scale loads), 16-byte loads of the Q8_1 quants,
// 8 DP4As per thread per super-block per activation row.
//
// v2 (kernels/cuda/PERF_NOTES.md): v1 gave each row one half-warp walking the row's super-blocks
// two steps at a time (48% of the streaming read at 4096 x 14336: ~500 threads per SM with two
// 16-byte loads each in flight, and a 14-trip serial walk per row). Now each thread loads four
// super-blocks before using any (kInFlight = 4) and a row gets `groups` half-warps
// (ChooseHalfWarpSplit: enough that one trip covers the row, up to 16), reduced by shuffles and
// one shared-memory step; up to 224 threads per block (4 blocks per SM at <= 72 registers), fewer rows per block while the grid has
// under two blocks per SM. All M activation rows use each weight load.
//
// v3 tried StreamGemvKernel (gemv_common.cuh) for this Op and measured it slower (55% vs 64% of
// the streaming read at both goal shapes: PERF_NOTES.md, v3), so this launch is v2's.
#include "gemv_ring.cuh"
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

namespace {
constexpr int kInFlight = 4;
// Super-blocks per half-warp per trip: 16 lanes / 8 slices, times kInFlight.
constexpr int kSbPerGroup = 2 * kInFlight;

// v2's split launch.
Status LaunchSplit(const GemvArgs& args, GemvParams& p) {
  int sms = 1;
  KPOLICY_TRY(CurrentSmCount(&sms));
  using Q4kHwDp4aOp = Q4kSlice8Op</*kDp4a=*/true, /*kLanes=*/16, 1, 256, kInFlight>;
  const HalfWarpSplit split =
      ChooseHalfWarpSplit(p.n, p.nsb, kSbPerGroup, sms, /*block_groups=*/14);
  p.groups_per_row = split.groups;
  p.rows_per_block = split.rows;
  return LaunchGemvKernel<Q4kHwDp4aOp>(p, args.m, ToStream(args.stream));
}

}  // namespace

Status LaunchQ4kHwDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, true, &p));
  // v3: the ring (gemv_ring.cuh) on sm_90 at M <= 4; v2's split launch elsewhere.
  bool launched = false;
  KPOLICY_TRY(TryLaunchRing<Q4kRingDp4aOp>(p, args.m, ToStream(args.stream), args.programmatic, &launched));
  if (launched) return {};
  return LaunchSplit(args, p);
}

}  // namespace kpolicy::kernels::gpu::detail

namespace kpolicy::kernels::gpu {

Status LaunchQ4kHwDp4aV2(const GemvArgs& args) {
  detail::GemvParams p;
  KPOLICY_TRY(detail::MakeGemvParams(args, GemvOp::kQ4K, true, &p));
  return detail::LaunchSplit(args, p);
}

}  // namespace kpolicy::kernels::gpu
