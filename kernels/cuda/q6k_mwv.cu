// Q6_K Mwv: mwv_warps warps share one output row, 16 threads per super-block (16 weights each),
// float activations as float4, combined in shared memory.
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using Q6kMwvOp = Q6kSlice16Op</*kDp4a=*/false, /*kLanes=*/32, kMaxThreads>;

Status LaunchQ6kMwv(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ6K, false, &p));
  return LaunchMultiWarp<Q6kMwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
