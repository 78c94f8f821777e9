// Q6_K HwDp4a: a half-warp per output row, 16 threads per super-block (16 weights each: four
// 4-weight runs, one per quarter, four DP4As per activation row), direct scale loads; 8 rows per
// 128-thread block.
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

CudaStatus LaunchQ6kHwDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_RETURN_IF_ERROR(MakeGemvParams(args, GemvOp::kQ6K, true, &p));
  p.warps_per_row = 1;
  p.rows_per_block = 8;
  using Op = Q6kQuarterOp</*kDp4a=*/true, /*kLanes=*/16, 128>;
  return LaunchGemvKernel<Op>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
