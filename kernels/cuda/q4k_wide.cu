// Q4_K Wide: 128 threads (4 warps) per output row, each warp on every 4th super-block with
// Legacy's per-thread work, partial sums combined in shared memory.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

Status LaunchQ4kWide(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  p.groups_per_row = 4;
  p.rows_per_block = 1;
  using Q4kWideOp = Q4kSlice32Op</*kDp4a=*/false, 128>;
  return LaunchGemvKernel<Q4kWideOp>(p, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
