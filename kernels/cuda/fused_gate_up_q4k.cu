// Fused gate + up + SwiGLU for the HwDp4a path: HwDp4a's thread mapping
// (a half-warp per output row, 8 threads per super-block, 16-byte loads)
// reading the gate and the up matrix at the same positions, so each thread
// loads its Q8_1 activations once for both, and the epilogue writes
// silu(gate . x) * (up . x) without either N-vector reaching memory.
#include "q4k_slices.cuh"

namespace kpolicy::kernels::gpu {

CudaStatus LaunchFusedGateUpQ4kHwDp4a(const FusedGateUpArgs& args) {
  GemvArgs gemv;
  gemv.weights = args.gate;
  gemv.x_q8 = args.x_q8;
  gemv.y = args.y;
  gemv.n = args.n;
  gemv.k = args.k;
  gemv.m = args.m;
  detail::GemvParams p;
  KPOLICY_RETURN_IF_ERROR(detail::MakeGemvParams(gemv, GemvOp::kQ4K, true, &p));
  KPOLICY_CHECK_ARG(args.up != nullptr && reinterpret_cast<uintptr_t>(args.up) % 16 == 0);
  p.w1 = static_cast<const uint8_t*>(args.up);
  p.warps_per_row = 1;
  p.rows_per_block = 8;
  using Op = detail::Q4kVecOp</*kDp4a=*/true, /*kLanes=*/16, /*kOutputs=*/2, 128>;
  return detail::LaunchGemvKernel<Op>(p, args.m, detail::ToStream(args.stream));
}

}  // namespace kpolicy::kernels::gpu
