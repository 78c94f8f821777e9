// The column-interleaved Q4_K layout that the W4A16 tensor-core path
// (gemm_paths.h, GemmPath::kW4a16Interleaved; knob w4a16_interleaved) reads.
// Same bytes as Q4_K (4.5 bits per weight, exact same values), regrouped so
// that 16 consecutive output rows' data for one super-block are contiguous
// and a warp's 16-byte-per-lane loads are whole 128-byte segments:
//
//   Rows are grouped in tiles of 16 (tile t = rows 16t .. 16t+15; the last
//   tile of an N that is not a multiple of 16 is padded with all-zero rows,
//   whose weights are 0 and whose outputs are never written). For each tile
//   t and super-block b (256 weights of K), a 2304-byte chunk at byte offset
//   (t * (K/256) + b) * 2304, i.e. a tile's K/256 chunks are consecutive:
//
//   | chunk bytes            | content                                                    |
//   |------------------------|------------------------------------------------------------|
//   | 16r .. 16r+15          | row 16t+r's block b header verbatim: d (fp16), dmin (fp16), |
//   |   (r = 0..15)          | scales[12] (BlockQ4K bytes 0..15)                          |
//   | 256 + 512g + 32r + l   | row 16t+r's block b qs[32g + l] (g = 0..3, l = 0..31):     |
//   |                        | low nibble weight 64g+l, high nibble weight 64g+32+l       |
//
//   So chunk bytes [256 + 512g, 256 + 512(g+1)) hold quant group g (weights
//   64g .. 64g+63 of the super-block, sub-blocks 2g and 2g+1) of all 16 rows,
//   row-major, 32 bytes per row. In the kernel, lane L of a warp loads 16
//   bytes at 256 + 512g + 16L: one warp-wide load is four full 128-byte
//   segments and feeds rows L/2 (both halves of a row's 32 bytes: lanes 2r
//   and 2r+1); the 256-byte header area is one more warp-wide load (lane L
//   reads row L/2's 16 bytes; two lanes per row share a segment).
//
// Thread-safety: pure functions.
#ifndef KPOLICY_KERNELS_W4A16_LAYOUT_H_
#define KPOLICY_KERNELS_W4A16_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

inline constexpr int kW4a16TileRows = 16;       // output rows per tile
inline constexpr int kW4a16ChunkBytes = 2304;   // 16 rows x 144 bytes, one super-block
inline constexpr int kW4a16HeaderBytes = 256;   // 16 rows x 16 header bytes
inline constexpr int kW4a16GroupBytes = 512;    // 16 rows x 32 qs bytes of one quant group

// ceil(N / 16) * (K / 256) * 2304 bytes.
int64_t W4a16InterleavedBytes(int64_t n, int64_t k);

// Re-lays out Q4_K weights (N x K, K a multiple of 256) as drawn above.
// Precondition: weights.format == WeightFormat::kQ4K. Cost: one pass over
// the bytes.
std::vector<uint8_t> InterleaveQ4KForW4a16(const WeightView& weights);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_W4A16_LAYOUT_H_
