// Q4_K Legacy: one warp per output row, 32 threads per super-block (one qs word each), float
// activations read as scalars, no DP4A; 4 rows per 128-thread block.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ4kLegacy(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  p.groups_per_row = 1;
  p.rows_per_block = 4;
  using Q4kLegacyOp = Q4kSlice32Op</*kDp4a=*/false, 128>;
  return LaunchGemvKernel<Q4kLegacyOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
