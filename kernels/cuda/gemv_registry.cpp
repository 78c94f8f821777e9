// The GEMV registries (gemv_registry.h): one line per variant, in the policy
// enum's order. A new variant is a kernel file plus a line here; the GPU
// tests and bench_gemv pick it up from the table.
#include "kpolicy/kernels/gemv_registry.h"

#include <cstring>

#include "variants.h"

namespace kpolicy::kernels::gpu {

namespace {

using detail::LaunchQ4kHwDp4a;
using detail::LaunchQ4kLegacy;
using detail::LaunchQ4kMwv;
using detail::LaunchQ4kMwvDp4a;
using detail::LaunchQ4kVectorized;
using detail::LaunchQ4kWide;
using detail::LaunchQ6kDp4a;
using detail::LaunchQ6kHwDp4a;
using detail::LaunchQ6kLegacy;
using detail::LaunchQ6kMwv;

// min_cc 75: the oldest architecture the library is built for (sm_75, which
// also has DP4A); kernels use nothing newer.
constexpr GemvVariant kQ4kVariants[] = {
    {GemvOp::kQ4K, "Legacy", 75, false, false,
     "warp per row, 32 threads per super-block (4 qs bytes each), scalar float x", &LaunchQ4kLegacy},
    {GemvOp::kQ4K, "Wide", 75, false, false,
     "128 threads per row (4 warps over alternate super-blocks), Legacy's per-thread work",
     &LaunchQ4kWide},
    {GemvOp::kQ4K, "Vectorized", 75, false, false,
     "warp per row, 8 threads per super-block, 16-byte qs loads, float4 x", &LaunchQ4kVectorized},
    {GemvOp::kQ4K, "MwvDp4a", 75, true, true,
     "mwv_warps warps per row, warp per super-block, DP4A on Q8_1, header via __shfl_sync",
     &LaunchQ4kMwvDp4a},
    {GemvOp::kQ4K, "HwDp4a", 75, true, false,
     "1-16 half-warps per row (by K), 8 threads per super-block, 4 super-blocks in flight, "
     "16-byte qs/header/Q8_1 loads, DP4A",
     &LaunchQ4kHwDp4a},
    {GemvOp::kQ4K, "Mwv", 75, false, true,
     "mwv_warps warps per row, 8 threads per super-block, 16-byte qs loads, float4 x",
     &LaunchQ4kMwv},
};

constexpr GemvVariant kQ6kVariants[] = {
    {GemvOp::kQ6K, "Legacy", 75, false, false,
     "warp per row, 32 threads per super-block (8 weights each), 16-bit loads, float2 x",
     &LaunchQ6kLegacy},
    {GemvOp::kQ6K, "Mwv", 75, false, true,
     "mwv_warps warps per row, 16 threads per super-block (16 weights each), float4 x",
     &LaunchQ6kMwv},
    {GemvOp::kQ6K, "Dp4a", 75, true, false,
     "warp per row, 32 threads per super-block (8 weights of one quarter), DP4A on Q8_1",
     &LaunchQ6kDp4a},
    {GemvOp::kQ6K, "HwDp4a", 75, true, false,
     "16 threads per super-block (16 weights each), rows streamed through a 4-stage cp.async "
     "shared-memory ring by a persistent grid (sm_80+, K % 2048 == 0), else 1-16 half-warps per "
     "row with the row staged in shared memory; DP4A on Q8_1",
     &LaunchQ6kHwDp4a},
};

}  // namespace

std::string_view GemvOpName(GemvOp op) { return op == GemvOp::kQ4K ? "q4k" : "q6k"; }

std::span<const GemvVariant> Q4kGemvVariants() { return kQ4kVariants; }
std::span<const GemvVariant> Q6kGemvVariants() { return kQ6kVariants; }

std::span<const GemvVariant> GemvVariants(GemvOp op) {
  return op == GemvOp::kQ4K ? Q4kGemvVariants() : Q6kGemvVariants();
}

const GemvVariant* FindGemvVariant(GemvOp op, std::string_view name) {
  for (const GemvVariant& variant : GemvVariants(op)) {
    if (variant.name == name) return &variant;
  }
  return nullptr;
}

std::vector<BlockQ8_1> Q8_1PlanarToBlocks(std::span<const uint8_t> planar, int m, int64_t k) {
  const int64_t count = static_cast<int64_t>(m) * k;
  std::vector<BlockQ8_1> blocks(count / kQ8BlockSize);
  for (size_t b = 0; b < blocks.size(); ++b) {
    std::memcpy(&blocks[b].d, planar.data() + count + 4 * b, 2);
    std::memcpy(&blocks[b].s, planar.data() + count + 4 * b + 2, 2);
    std::memcpy(blocks[b].qs, planar.data() + kQ8BlockSize * b, kQ8BlockSize);
  }
  return blocks;
}

}  // namespace kpolicy::kernels::gpu
