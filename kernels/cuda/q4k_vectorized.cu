// Q4_K Vectorized: one warp per output row, 8 threads per super-block with 16-byte loads of qs and
// float4 loads of the float activations; 4 rows per 128-thread block.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

CudaStatus LaunchQ4kVectorized(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_RETURN_IF_ERROR(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  p.groups_per_row = 1;
  p.rows_per_block = 4;
  using Op = Q4kVecOp</*kDp4a=*/false, /*kLanes=*/32, 1, 128>;
  return LaunchGemvKernel<Op>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
