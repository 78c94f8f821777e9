// Q4_K Mwv: mwv_warps warps share one output row (Vectorized's 16-byte slices, float activations,
// no activation quantisation), combined in shared memory; blocks of about 4 warps.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu::detail {

template <int kMaxThreads>
using MwvOp = Q4kVecOp</*kDp4a=*/false, /*kLanes=*/32, 1, kMaxThreads>;

CudaStatus LaunchQ4kMwv(const GemvArgs& args) {
  GemvParams p;
  KPOLICY_RETURN_IF_ERROR(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  return LaunchMultiWarp<MwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu::detail
