// Q4_K Mwv: mwv_warps warps share one output row (Vectorized's 16-byte slices, float activations,
// no activation quantisation), combined in shared memory; blocks of about 4 warps.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using Q4kMwvOp = Q4kSlice8Op</*kDp4a=*/false, /*kLanes=*/32, 1, kMaxThreads>;

Status LaunchQ4kMwv(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  return LaunchMultiWarp<Q4kMwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
