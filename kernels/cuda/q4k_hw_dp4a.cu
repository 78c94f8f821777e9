// Q4_K HwDp4a, the fast path: a half-warp per output row, 8 threads per super-block (two super-
// blocks per half-warp step, two steps in flight), 16-byte loads of qs and of the header (direct
// scale loads), 16-byte loads of the Q8_1 quants, 8 DP4As per thread per super-block per
// activation row; 8 rows per 128-thread block.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

CudaStatus LaunchQ4kHwDp4a(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_RETURN_IF_ERROR(MakeGemvParams(args, GemvOp::kQ4K, true, &p));
  p.warps_per_row = 1;
  p.rows_per_block = 8;
  using Op = Q4kVecOp</*kDp4a=*/true, /*kLanes=*/16, 1, 128>;
  return LaunchGemvKernel<Op>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
