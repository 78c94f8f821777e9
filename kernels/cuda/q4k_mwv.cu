// Q4_K Mwv v1: mwv_warps warps share one output row (Vectorized's 16-byte slices, float
// activations, no activation quantisation), combined in shared memory; blocks of about 4 warps.
// No longer the table's Mwv row (that is q4k_mwv_v2.cu): kept as bench_gemv's named baseline
// "Mwv (v1)" (gemv_launch.h) and as v2's fallback for K * M beyond its shared-memory sums.
#include "q4k_slices.cuh"
#include "variants.h"

namespace kpolicy::kernels::gpu {
namespace detail {

template <int kMaxThreads>
using Q4kMwvOp = Q4kSlice8Op</*kDp4a=*/false, /*kLanes=*/32, 1, kMaxThreads>;

}  // namespace detail

Status LaunchQ4kMwvV1(const GemvArgs& args) {
  using namespace detail;
  GemvParams p;
  KPOLICY_TRY(MakeGemvParams(args, GemvOp::kQ4K, false, &p));
  return LaunchMultiWarp<Q4kMwvOp>(p, args.mwv_warps, args.m, ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu
