// Argument checks shared by every GEMV launch function (gemv_common.cuh).
#include <climits>

#include "gemv_common.cuh"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels::gpu::detail {

Status MakeGemvParams(const GemvArgs& args, GemvOp op, bool quantized, GemvParams* params) {
  KPOLICY_CHECK_ARG(args.weights != nullptr && args.y != nullptr);
  KPOLICY_CHECK_ARG(quantized ? args.x_q8 != nullptr : args.x != nullptr);
  KPOLICY_CHECK_ARG(args.m >= 1 && args.m <= kMaxGemvRows);
  KPOLICY_CHECK_ARG(args.n >= 1 && args.n <= INT_MAX);
  KPOLICY_CHECK_ARG(args.k >= 256 && args.k % 256 == 0 && args.k / 256 <= INT_MAX);
  const bool q4k = op == GemvOp::kQ4K;
  // Q4_K is read with 16-byte loads; a Q6_K block allows only 2-byte alignment.
  const uintptr_t alignment = q4k ? 16 : 2;
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(args.weights) % alignment == 0);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(args.x) % 16 == 0);
  KPOLICY_CHECK_ARG(reinterpret_cast<uintptr_t>(args.x_q8) % 16 == 0);
  const int64_t row_bytes = RowBytes(q4k ? WeightFormat::kQ4K : WeightFormat::kQ6K, args.k);
  KPOLICY_CHECK_ARG(args.n <= INT64_MAX / row_bytes);

  GemvParams& p = *params;
  p.w0 = static_cast<const uint8_t*>(args.weights);
  p.w1 = nullptr;
  p.row_bytes = row_bytes;
  p.nsb = static_cast<int>(args.k / 256);
  p.n = static_cast<int>(args.n);
  p.act.x = args.x;
  p.act.k = args.k;
  p.act.q8 = static_cast<const int8_t*>(args.x_q8);
  p.act.ds = args.x_q8 == nullptr
                 ? nullptr
                 : reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(args.x_q8) +
                                                     static_cast<int64_t>(args.m) * args.k);
  p.y = args.y;
  p.groups_per_row = 1;
  p.rows_per_block = 1;
  p.stage_sb = 0;
  p.row_stage_bytes = 0;
  return {};
}

}  // namespace kpolicy::kernels::gpu::detail
