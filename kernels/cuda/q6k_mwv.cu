// Q6_K Mwv: mwv_warps warps share one output row, 16 threads per super-block (16 weights each),
// float activations as float4, combined in shared memory.
//
// v2 (issue 12): the ring (gemv_ring.cuh, Q6kRingFloatOp) on sm_90 at M <= 2 where rows are whole
// 16-byte vectors (K a multiple of 2048) and the weights 16-byte aligned; the kernel above
// elsewhere (mwv_warps applies only there).
#include "gemv_ring.cuh"
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using Q6kMwvOp = Q6kSlice16Op</*kDp4a=*/false, /*kLanes=*/32, kMaxThreads>;

Status LaunchQ6kMwv(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ6K, false, &p));
  KPOLICY_CHECK_ARG(args.mwv_warps >= 1 && args.mwv_warps <= kMaxMwvWarps);
  bool launched = false;
  KPOLICY_TRY(TryLaunchRing<Q6kRingFloatOp>(p, args.m, ToStream(args.stream), args.programmatic, &launched));
  if (launched) return {};
  return LaunchMultiWarp<Q6kMwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
