// The quantised block formats, byte-compatible with GGUF/ggml: Q4_K and Q6_K
// for weights, Q8_1 for activations on the DP4A path. Each struct is the
// exact on-disk block (little-endian fp16 fields as raw bits), so a GGUF
// tensor's bytes are an array of these. Q8_1 is the exception: it is never
// stored in a file, only handed to the DP4A kernels, and its s is bf16
// (see BlockQ8_1). Quantisers from float, dequantisers,
// and the accessors that the reference and the emulation share. Byte layouts
// are drawn in kernels/README.md.
//
// Thread-safety: pure functions on caller-owned buffers.
#ifndef KPOLICY_KERNELS_BLOCK_FORMATS_H_
#define KPOLICY_KERNELS_BLOCK_FORMATS_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace kpolicy::kernels {

static_assert(std::endian::native == std::endian::little,
              "GGUF blocks are little-endian and are read by memcpy");

inline constexpr int kSuperBlockSize = 256;  // QK_K: weights per Q4_K / Q6_K block
inline constexpr int kQ8BlockSize = 32;      // QK8_1: activations per Q8_1 block

// Q4_K: 8 sub-blocks of 32 weights, weight = d*sc[j]*q - dmin*m[j] with
// 4-bit q and 6-bit sc, m. 4.5 bits per weight.
struct BlockQ4K {
  uint16_t d;             // fp16 super-block scale of the sub-block scales
  uint16_t dmin;          // fp16 super-block scale of the sub-block mins
  uint8_t scales[12];     // 8 six-bit scales and 8 six-bit mins, packed (see Q4KScaleMin)
  uint8_t qs[128];        // per 64-weight group: low nibbles weights 0..31, high nibbles 32..63
};
static_assert(sizeof(BlockQ4K) == 144);
static_assert(offsetof(BlockQ4K, scales) == 4 && offsetof(BlockQ4K, qs) == 16);

// Q6_K: 16 sub-blocks of 16 weights, weight = d*scales[j]*(q - 32) with
// 6-bit q (low 4 bits in ql, high 2 bits in qh). 6.5625 bits per weight.
struct BlockQ6K {
  uint8_t ql[128];        // low 4 bits (order: see Q6KQuant)
  uint8_t qh[64];         // high 2 bits, four weights per byte
  int8_t scales[16];      // signed 8-bit sub-block scales
  uint16_t d;             // fp16 super-block scale
};
static_assert(sizeof(BlockQ6K) == 210);
static_assert(offsetof(BlockQ6K, qh) == 128 && offsetof(BlockQ6K, scales) == 192 &&
              offsetof(BlockQ6K, d) == 208);

// Q8_1: 32 activations, value = d*qs[i]; s caches d * sum(qs) so that a
// kernel can apply an asymmetric weight format's offset without a second
// pass over the quants. GGUF's block_q8_1 keeps s as fp16, which overflows
// once |sum| > 65504 (32 same-sign values of ~2047 suffice): inf, then a
// non-finite Q4_K min term; llama.cpp met it as NaN perplexity on Mistral
// Small 4 (PR #21652) and moved s to bf16 (PR #22571). Here s is bf16 too:
// float's range, relative error <= 2^-8 (fp16's was 2^-11).
struct BlockQ8_1 {
  uint16_t d;             // fp16 scale, min(absmax/127, 65504)
  uint16_t s;             // bf16 of d * sum(qs) (or of sum(x), see Q8SumSource)
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_1) == 36);

// ---- Q4_K ----------------------------------------------------------------

// The 6-bit scale and min of sub-block j (0..7): sub-blocks 0..3 keep theirs
// in the low 6 bits of scales[j] and scales[j+4]; sub-blocks 4..7 keep the
// low 4 bits in the nibbles of scales[j+4] and the high 2 bits in the top
// bits of scales[j-4] (scale) and scales[j] (min). Q5_K packs its scales
// the same way, so the packing is also exposed on the raw 12 bytes.
void KQuantScaleMin(const uint8_t (&scales)[12], int j, uint8_t* scale, uint8_t* min);
inline void Q4KScaleMin(const BlockQ4K& block, int j, uint8_t* scale, uint8_t* min) {
  KQuantScaleMin(block.scales, j, scale, min);
}

// The 4-bit quant of weight i (0..255).
inline int Q4KQuant(const BlockQ4K& block, int i) {
  const int group = i / 64, within = i % 64;
  const uint8_t byte = block.qs[group * 32 + within % 32];
  return within < 32 ? (byte & 0x0F) : (byte >> 4);
}

// x.size() == 256 * out.size(). Per sub-block, a weighted least-squares fit
// of (scale, min) over a grid of candidate scales, weights |x| + rms(x) (the
// make_qkx2-style search GGUF uses), then the 6-bit quantisation of the
// sub-block scales and mins against fp16 d/dmin, then the final 4-bit codes
// against those rounded scales.
void QuantizeQ4K(std::span<const float> x, std::span<BlockQ4K> out);
void DequantizeQ4K(std::span<const BlockQ4K> blocks, std::span<float> out);

// ---- Q6_K ----------------------------------------------------------------

// The 6-bit quant of weight i (0..255), in 0..63 (subtract 32 for the value).
// Per 128-weight half h: ql[64h + l] holds weights l (low nibble) and l+64
// (high nibble), ql[64h + 32 + l] weights l+32 and l+96, for l in 0..31;
// qh[32h + l] holds the high 2 bits of weights l, l+32, l+64, l+96 at bit
// offsets 0, 2, 4, 6.
inline int Q6KQuant(const BlockQ6K& block, int i) {
  const int half = i / 128, within = i % 128;
  const int quarter = within / 32, l = within % 32;
  const uint8_t low_byte = block.ql[64 * half + 32 * (quarter & 1) + l];
  const int low = (quarter < 2) ? (low_byte & 0x0F) : (low_byte >> 4);
  const int high = (block.qh[32 * half + l] >> (2 * quarter)) & 0x03;
  return low | (high << 4);
}

// x.size() == 256 * out.size(). Per 16-weight sub-block, a search over
// scales around nmax/absmax maximising the x^2-weighted fit (GGUF's
// make_qx-style search), then 8-bit signed sub-block scales relative to the
// largest one, then the final 6-bit codes against the fp16 d.
void QuantizeQ6K(std::span<const float> x, std::span<BlockQ6K> out);
void DequantizeQ6K(std::span<const BlockQ6K> blocks, std::span<float> out);

// ---- Q8_1 ----------------------------------------------------------------

// What s holds. kQuantSum is the GGUF reference (quantize_row_q8_1_ref):
// d * sum(qs). kFloatSum is what llama.cpp's CUDA quantize_q8_1 stores: the
// sum of the unquantised inputs. The difference moves the Q4_K min term of a
// DP4A dot product by up to half a Q8 step per input.
enum class Q8SumSource { kQuantSum, kFloatSum };

// x.size() == 32 * out.size(). d = absmax/127 (computed in float, stored as
// fp16), qs = round-half-away(x / d), the same as roundf in ggml; s in bf16
// (round to nearest even). For absmax > 65504 * 127 d saturates at 65504 and
// the quants at +-127, so finite input always gives finite d, s and values.
void QuantizeQ8_1(std::span<const float> x, std::span<BlockQ8_1> out,
                  Q8SumSource sum_source = Q8SumSource::kQuantSum);
// value = fp16(d) * qs; s is not used.
void DequantizeQ8_1(std::span<const BlockQ8_1> blocks, std::span<float> out);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_BLOCK_FORMATS_H_
