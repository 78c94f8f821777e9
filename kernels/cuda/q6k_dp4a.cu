// Q6_K Dp4a: one warp per output row, 32 threads per super-block (8 weights of one quarter each,
// two DP4As per activation row), Q8_1 activations; 4 rows per 128-thread block.
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ6kDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ6K, true, &p));
  p.groups_per_row = 1;
  p.rows_per_block = 4;
  using Q6kDp4aOp = Q6kSlice32Op</*kDp4a=*/true, 128>;
  return LaunchGemvKernel<Q6kDp4aOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
