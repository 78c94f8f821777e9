// The W4A16 interleaved layout (w4a16_layout.h): a host-side byte shuffle.
#include "kpolicy/kernels/w4a16_layout.h"

#include <cassert>
#include <cstring>

#include "kpolicy/kernels/block_formats.h"

namespace kpolicy::kernels {

int64_t W4a16InterleavedBytes(int64_t n, int64_t k) {
  const int64_t tiles = (n + kW4a16TileRows - 1) / kW4a16TileRows;
  return tiles * (k / kSuperBlockSize) * kW4a16ChunkBytes;
}

std::vector<uint8_t> InterleaveQ4KForW4a16(const WeightView& weights) {
  assert(weights.format == WeightFormat::kQ4K && weights.cols % kSuperBlockSize == 0);
  const int64_t n = weights.rows, nsb = weights.cols / kSuperBlockSize;
  const int64_t tiles = (n + kW4a16TileRows - 1) / kW4a16TileRows;
  std::vector<uint8_t> out(static_cast<size_t>(W4a16InterleavedBytes(n, weights.cols)), 0);
  for (int64_t t = 0; t < tiles; ++t) {
    for (int64_t b = 0; b < nsb; ++b) {
      uint8_t* chunk = out.data() + (t * nsb + b) * kW4a16ChunkBytes;
      for (int r = 0; r < kW4a16TileRows; ++r) {
        const int64_t row = t * kW4a16TileRows + r;
        if (row >= n) break;  // padding rows stay zero: d = dmin = 0, weights 0
        const uint8_t* block = weights.bytes.data() + (row * nsb + b) * sizeof(BlockQ4K);
        std::memcpy(chunk + 16 * r, block, 16);  // d, dmin, scales[12]
        for (int g = 0; g < 4; ++g) {
          std::memcpy(chunk + kW4a16HeaderBytes + kW4a16GroupBytes * g + 32 * r,
                      block + offsetof(BlockQ4K, qs) + 32 * g, 32);
        }
      }
    }
  }
  return out;
}

}  // namespace kpolicy::kernels
