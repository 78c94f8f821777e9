#include "kpolicy/kernels/half.h"

#include <bit>

namespace kpolicy::kernels {

namespace {

// Drops the low `shift` bits of `value`, rounding to nearest, ties to even.
// A carry out of the mantissa moves into the exponent field, which is the
// right result for both the subnormal->normal and the normal->inf cases.
uint32_t ShiftRightRoundEven(uint32_t value, int shift) {
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u))) return kept + 1;
  return kept;
}

}  // namespace

uint16_t FloatToHalf(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xFFu);
  const uint32_t mantissa = bits & 0x7FFFFFu;

  if (exponent == 0xFF) {
    if (mantissa == 0) return sign | 0x7C00u;
    // Keep the NaN quiet and its top payload bits, as hardware does.
    return static_cast<uint16_t>(sign | 0x7E00u | (mantissa >> 13));
  }
  const int half_exponent = exponent - 127 + 15;
  if (half_exponent >= 31) return sign | 0x7C00u;
  if (half_exponent <= 0) {
    // Subnormal half (or zero). Float subnormals are far below 2^-25, so
    // they, like anything with half_exponent < -10, round to zero.
    if (half_exponent < -10) return sign;
    const uint32_t with_implicit_bit = mantissa | 0x800000u;
    return static_cast<uint16_t>(
        sign | ShiftRightRoundEven(with_implicit_bit, 14 - half_exponent));
  }
  const uint32_t packed = (static_cast<uint32_t>(half_exponent) << 23) | mantissa;
  return static_cast<uint16_t>(sign | ShiftRightRoundEven(packed, 13));
}

float HalfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const int exponent = (bits >> 10) & 0x1F;
  uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0x1F) {
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    // Subnormal half: normalise it, since every one is a normal float.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3FFu;
    const uint32_t float_exponent = static_cast<uint32_t>(127 - 15 + 1 - shift);
    return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
  }
  const uint32_t float_exponent = static_cast<uint32_t>(exponent - 15 + 127);
  return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
}

uint16_t FloatToBf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    // NaN: truncating could clear every payload bit left and make it inf.
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  // The exponent sits above the kept significand bits, so a carry out of
  // them moves into the exponent: right for normal -> next binade,
  // subnormal -> normal and largest finite -> inf alike.
  return static_cast<uint16_t>(ShiftRightRoundEven(bits, 16));
}

float Bf16ToFloat(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

}  // namespace kpolicy::kernels
