// Test-side encoders for the K-quant block layouts, written from the
// formats' definitions (ggml-common.h's block_q4_K / q5_K / q6_K) and
// independent of the library's accessors: the decode tests build blocks
// with them from chosen codes, and the model tests re-pack real blocks with
// them to show every bit is accounted for.
#ifndef KPOLICY_TESTS_KERNELS_GGML_BLOCKS_TESTING_H_
#define KPOLICY_TESTS_KERNELS_GGML_BLOCKS_TESTING_H_

#include <cstdint>
#include <cstring>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/ggml_decode.h"

namespace kpolicy::kernels::testing {

// Packs 8 six-bit scales and mins into the 12 bytes Q4_K and Q5_K share:
// sub-blocks 0..3 in the low 6 bits of bytes j (scale) and j+4 (min);
// sub-blocks 4..7 with their low 4 bits in the nibbles of byte j+4 and
// their high 2 bits in the top bits of bytes j-4 (scale) and j (min).
inline void PackKScales(const uint8_t (&sc)[8], const uint8_t (&m)[8], uint8_t (&out)[12]) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 4; ++j) {
    out[j] = sc[j] & 0x3F;
    out[j + 4] = m[j] & 0x3F;
  }
  for (int j = 4; j < 8; ++j) {
    out[j + 4] = static_cast<uint8_t>((sc[j] & 0x0F) | ((m[j] & 0x0F) << 4));
    out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
    out[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
  }
}

// Low 4 bits of 256 codes as Q4_K/Q5_K store them: per 64-weight group g,
// byte 32g + l holds weight 64g + l (low nibble) and 64g + 32 + l (high).
inline void PackKNibbles(const int (&codes)[256], uint8_t (&qs)[128]) {
  for (int g = 0; g < 4; ++g) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * g + l] = static_cast<uint8_t>((codes[64 * g + l] & 0x0F) | ((codes[64 * g + 32 + l] & 0x0F) << 4));
    }
  }
}

inline BlockQ4K PackQ4K(uint16_t d, uint16_t dmin, const uint8_t (&sc)[8], const uint8_t (&m)[8],
                        const int (&codes)[256]) {
  BlockQ4K b{};
  b.d = d;
  b.dmin = dmin;
  PackKScales(sc, m, b.scales);
  PackKNibbles(codes, b.qs);
  return b;
}

// Q5_K: Q4_K's fields plus the fifth bit of weight 32j + l in bit j of qh[l].
inline BlockQ5K PackQ5K(uint16_t d, uint16_t dmin, const uint8_t (&sc)[8], const uint8_t (&m)[8],
                        const int (&codes)[256]) {
  BlockQ5K b{};
  b.d = d;
  b.dmin = dmin;
  PackKScales(sc, m, b.scales);
  PackKNibbles(codes, b.qs);
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) b.qh[l] |= static_cast<uint8_t>(((codes[32 * j + l] >> 4) & 1) << j);
  }
  return b;
}

// Q6_K: per 128-weight half h and l in 0..31, ql[64h + l] holds weights
// 128h + l (low nibble) and 128h + 64 + l (high), ql[64h + 32 + l] weights
// 128h + 32 + l and 128h + 96 + l; qh[32h + l] holds the high 2 bits of
// weights 128h + l, +32, +64, +96 at bits 0, 2, 4, 6. Codes are 0..63.
inline BlockQ6K PackQ6K(uint16_t d, const int8_t (&scales)[16], const int (&codes)[256]) {
  BlockQ6K b{};
  b.d = d;
  std::memcpy(b.scales, scales, 16);
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int* c = codes + 128 * h + l;  // c[0], c[32], c[64], c[96]
      b.ql[64 * h + l] = static_cast<uint8_t>((c[0] & 0x0F) | ((c[64] & 0x0F) << 4));
      b.ql[64 * h + 32 + l] = static_cast<uint8_t>((c[32] & 0x0F) | ((c[96] & 0x0F) << 4));
      b.qh[32 * h + l] = static_cast<uint8_t>((c[0] >> 4) | ((c[32] >> 4) << 2) | ((c[64] >> 4) << 4) |
                                              ((c[96] >> 4) << 6));
    }
  }
  return b;
}

}  // namespace kpolicy::kernels::testing

#endif  // KPOLICY_TESTS_KERNELS_GGML_BLOCKS_TESTING_H_
