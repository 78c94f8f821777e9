// Q6_K Mwv: mwv_warps warps share one output row, 16 threads per super-block (16 weights each),
// float activations as float4, combined in shared memory.
#include "q6k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using MwvOp = Q6kQuarterOp</*kDp4a=*/false, /*kLanes=*/32, kMaxThreads>;

CudaStatus LaunchQ6kMwv(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_RETURN_IF_ERROR(MakeGemvParams(args, GemvOp::kQ6K, false, &p));
  return LaunchMultiWarp<MwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
