// Q4_K MwvDp4a: mwv_warps warps share one output row, a warp per super-block (32 threads, one qs
// word and two DP4As each per activation row), header words broadcast by __shfl_sync.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using Q4kMwvDp4aOp = Q4kSlice32Op</*kDp4a=*/true, kMaxThreads>;

Status LaunchQ4kMwvDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, true, &p));
  return LaunchMultiWarp<Q4kMwvDp4aOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
