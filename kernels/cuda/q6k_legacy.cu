// Q6_K Legacy: one warp per output row, 32 threads per super-block (8 weights each, 16-bit loads),
// float activations, no DP4A; 4 rows per 128-thread block.
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ6kLegacy(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ6K, false, &p));
  p.groups_per_row = 1;
  p.rows_per_block = 4;
  using Q6kLegacyOp = Q6kSlice32Op</*kDp4a=*/false, 128>;
  return LaunchGemvKernel<Q6kLegacyOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
