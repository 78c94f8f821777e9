// The GEMV variant table (gemv_variants.h): one row per variant, in the
// policy enum's order. A new variant is a kernel file in kernels/cuda/ plus a
// row here; everything that reads variants picks it up from the table.
//
// This file is compiled into kpolicy_kernels in every build. With CUDA
// (KPOLICY_KERNELS_CUDA defined) the launch column points at the kernels of
// kernels/cuda/; without it the column is null: the variant is "not built",
// and everything but the launch (names, arithmetic, emulation) still reads.
#include "kpolicy/kernels/gemv_variants.h"

#include "kpolicy/kernels/emulation.h"

#ifdef KPOLICY_KERNELS_CUDA
#include "../cuda/variants.h"
#define KPOLICY_LAUNCH(function) &::kpolicy::kernels::gpu::detail::function
#else
#define KPOLICY_LAUNCH(function) nullptr
#endif

namespace kpolicy::kernels {
namespace {

constexpr Arithmetic kFloat = Arithmetic::kFloatActivations;
constexpr Arithmetic kDp4a = Arithmetic::kDp4aQ8_1;

// min_cc 75: the oldest architecture the library is built for (sm_75, which
// also has DP4A); kernels use nothing newer (Q6_K HwDp4a takes its cp.async
// path only on sm_80+ and falls back below).
constexpr GemvVariant kVariants[] = {
    {GemvOp::kQ4K, "Legacy", kFloat, 75, false,
     "warp per row, 32 threads per super-block (4 qs bytes each), scalar float x",
     KPOLICY_LAUNCH(LaunchQ4kLegacy), &EmulateFloatActivations},
    {GemvOp::kQ4K, "Wide", kFloat, 75, false,
     "128 threads per row (4 warps over alternate super-blocks), Legacy's per-thread work",
     KPOLICY_LAUNCH(LaunchQ4kWide), &EmulateFloatActivations},
    {GemvOp::kQ4K, "Vectorized", kFloat, 75, false,
     "warp per row, 8 threads per super-block, 16-byte qs loads, float4 x",
     KPOLICY_LAUNCH(LaunchQ4kVectorized), &EmulateFloatActivations},
    {GemvOp::kQ4K, "MwvDp4a", kDp4a, 75, true,
     "mwv_warps warps per row, warp per super-block, DP4A on Q8_1, header via __shfl_sync",
     KPOLICY_LAUNCH(LaunchQ4kMwvDp4a), &EmulateDp4aQ8_1},
    {GemvOp::kQ4K, "HwDp4a", kDp4a, 75, false,
     "1-16 half-warps per row (by K), 8 threads per super-block, 4 super-blocks in flight, "
     "16-byte qs/header/Q8_1 loads, DP4A",
     KPOLICY_LAUNCH(LaunchQ4kHwDp4a), &EmulateDp4aQ8_1},
    {GemvOp::kQ4K, "Mwv", kFloat, 75, false,
     "4 rows per warp, 8 warps split K 1-8 ways (by grid size), 8 threads per super-block, "
     "16-byte qs/header loads one step ahead, float4 x shared by the 4 rows, min term from "
     "per-block sub-block sums of x (mwv_warps range-checked, not used)",
     KPOLICY_LAUNCH(LaunchQ4kMwv), &EmulateFloatActivations},
    {GemvOp::kQ6K, "Legacy", kFloat, 75, false,
     "warp per row, 32 threads per super-block (8 weights each), 16-bit loads, float2 x",
     KPOLICY_LAUNCH(LaunchQ6kLegacy), &EmulateFloatActivations},
    {GemvOp::kQ6K, "Mwv", kFloat, 75, true,
     "mwv_warps warps per row, 16 threads per super-block (16 weights each), float4 x",
     KPOLICY_LAUNCH(LaunchQ6kMwv), &EmulateFloatActivations},
    {GemvOp::kQ6K, "Dp4a", kDp4a, 75, false,
     "warp per row, 32 threads per super-block (8 weights of one quarter), DP4A on Q8_1",
     KPOLICY_LAUNCH(LaunchQ6kDp4a), &EmulateDp4aQ8_1},
    {GemvOp::kQ6K, "HwDp4a", kDp4a, 75, false,
     "16 threads per super-block (16 weights each), rows streamed through a 4-stage cp.async "
     "shared-memory ring by a persistent grid (sm_80+, K % 2048 == 0), else 1-16 half-warps per "
     "row with the row staged in shared memory; DP4A on Q8_1",
     KPOLICY_LAUNCH(LaunchQ6kHwDp4a), &EmulateDp4aQ8_1},
};

}  // namespace

std::string_view GemvOpName(GemvOp op) { return op == GemvOp::kQ4K ? "q4k" : "q6k"; }

std::optional<GemvOp> GemvOpNamed(std::string_view knob) {
  for (const GemvOp op : kGemvOps) {
    if (GemvOpName(op) == knob) return op;
  }
  return std::nullopt;
}

WeightFormat GemvOpFormat(GemvOp op) { return op == GemvOp::kQ4K ? WeightFormat::kQ4K : WeightFormat::kQ6K; }

std::string_view ArithmeticName(Arithmetic arithmetic) {
  return arithmetic == Arithmetic::kDp4aQ8_1 ? "DP4A on Q8_1" : "float activations";
}

GemvVariantTable BuiltinGemvVariants() { return kVariants; }

std::vector<const GemvVariant*> GemvVariantsOf(GemvOp op, GemvVariantTable table) {
  std::vector<const GemvVariant*> out;
  for (const GemvVariant& v : table) {
    if (v.op == op) out.push_back(&v);
  }
  return out;
}

const GemvVariant* FindGemvVariant(GemvOp op, std::string_view name, GemvVariantTable table) {
  for (const GemvVariant& v : table) {
    if (v.op == op && v.name == name) return &v;
  }
  return nullptr;
}

std::string GemvVariantNames(GemvOp op, GemvVariantTable table) {
  std::string out;
  for (const GemvVariant* v : GemvVariantsOf(op, table)) out += (out.empty() ? "" : ", ") + std::string(v->name);
  return out;
}

std::vector<float> EmulateFloatActivations(const WeightView& weights, std::span<const float> x, int64_t m) {
  return EmulateFloatPath(weights, x, m);
}

std::vector<float> EmulateDp4aQ8_1(const WeightView& weights, std::span<const float> x, int64_t m) {
  return EmulateDp4aPath(weights, x, m);
}

}  // namespace kpolicy::kernels
