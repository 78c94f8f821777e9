// Host-side helpers of gemv_launch.h.
#include "kpolicy/kernels/gemv_launch.h"

#include <cstring>

namespace kpolicy::kernels::gpu {

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
