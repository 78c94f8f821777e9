// Fused gate + up + SwiGLU for the HwDp4a path: HwDp4a's thread mapping
// (several half-warps per output row, 8 threads per super-block, 16-byte loads)
// reading the gate and the up matrix at the same positions, so each thread
// loads its Q8_1 activations once for both, and the epilogue writes
// silu(gate . x) * (up . x) without either N-vector reaching memory.
// Issue 12: on sm_90 at M <= 4 the ring (gemv_ring.cuh) with two matrices instead.
#include "gemv_ring.cuh"
#include "q4k_slices.cuh"

namespace kpolicy::kernels::gpu {

Status LaunchFusedGateUpQ4kHwDp4a(const FusedGateUpArgs& args) {
  GemvArgs gemv;
  gemv.weights = args.gate;
  gemv.x_q8 = args.x_q8;
  gemv.y = args.y;
  gemv.n = args.n;
  gemv.k = args.k;
  gemv.m = args.m;
  detail::GemvParams p;
  KPOLICY_TRY(detail::MakeGemvParams(gemv, GemvOp::kQ4K, true, &p));
  KPOLICY_CHECK_ARG(args.up != nullptr && reinterpret_cast<uintptr_t>(args.up) % 16 == 0);
  p.w1 = static_cast<const uint8_t*>(args.up);
  bool launched = false;
  KPOLICY_TRY((detail::TryLaunchRing<detail::Q4kRingDp4aOp, 2>(p, args.m, detail::ToStream(args.stream), false,
                                                               &launched)));
  if (launched) return {};
  // HwDp4a's split (q4k_hw_dp4a.cu): several half-warps per row. Two matrices'
  // fragments per super-block, so two super-blocks in flight per thread
  // rather than four (the same bytes in flight, half the register cost).
  constexpr int kInFlight = 2;
  int sms = 1;
  KPOLICY_TRY(detail::CurrentSmCount(&sms));
  const detail::HalfWarpSplit split =
      detail::ChooseHalfWarpSplit(p.n, p.nsb, 2 * kInFlight, sms, /*block_groups=*/14);
  p.groups_per_row = split.groups;
  p.rows_per_block = split.rows;
  using FusedGateUpQ4kHwDp4aOp = detail::Q4kSlice8Op</*kDp4a=*/true, /*kLanes=*/16, /*kOutputs=*/2, 256, kInFlight>;
  return detail::LaunchGemvKernel<FusedGateUpQ4kHwDp4aOp>(p, args.m, detail::ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu
