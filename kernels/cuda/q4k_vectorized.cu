// Q4_K Vectorized: one warp per output row, 8 threads per super-block with 16-byte loads of qs and
// float4 loads of the float activations; 4 rows per 128-thread block.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ4kVectorized(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  p.groups_per_row = 1;
  p.rows_per_block = 4;
  using Q4kVectorizedOp = Q4kSlice8Op</*kDp4a=*/false, /*kLanes=*/32, 1, 128>;
  return LaunchGemvKernel<Q4kVectorizedOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
