#include "kpolicy/kernels/fp8.h"

#include <cassert>
#include <cmath>

#include "rounding.h"

namespace kpolicy::kernels {

uint8_t FloatToFp8E4M3(float value) {
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  if (std::isnan(value)) return sign | kFp8E4M3NaN;
  const float magnitude = std::fabs(value);
  if (magnitude >= kFp8E4M3Max) return sign | 0x7E;

  // Below 2^-6 the spacing is the subnormal step 2^-9; scaling by a power of
  // two is exact, so rounding the scaled value rounds the original. A result
  // of 8 is the smallest normal (exponent field 1, mantissa 0), which is also
  // what the code 8 means, so no special case is needed.
  if (magnitude < 0x1p-6f) {
    return sign | static_cast<uint8_t>(RoundHalfEven(magnitude * 512.0f));
  }
  int exponent = 0;
  const float fraction = std::frexp(magnitude, &exponent);  // [0.5, 1)
  --exponent;                                                // magnitude = m * 2^exponent, m in [1, 2)
  int mantissa = static_cast<int>(RoundHalfEven((fraction * 2.0f - 1.0f) * 8.0f));
  if (mantissa == 8) {
    mantissa = 0;
    ++exponent;
  }
  const int field = exponent + 7;
  const int code = (field << 3) | mantissa;
  // Rounding up from just below 448 can reach 0x7F (NaN); saturate instead.
  return sign | static_cast<uint8_t>(code > 0x7E ? 0x7E : code);
}

float Fp8E4M3ToFloat(uint8_t code) {
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  const int field = (code >> 3) & 0x0F;
  const int mantissa = code & 0x07;
  if (field == 0x0F && mantissa == 0x07) return std::nanf("");
  if (field == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, field - 7);
}

float Fp8ScaleForAbsmax(float absmax) {
  if (absmax == 0.0f) return 1.0f;
  return absmax / kFp8E4M3Max;
}

float FiniteAbsmax(std::span<const float> values) {
  float absmax = 0.0f;
  for (float v : values) {
    if (std::isfinite(v) && std::fabs(v) > absmax) absmax = std::fabs(v);
  }
  return absmax;
}

Fp8Tensor QuantizeFp8PerTensor(std::span<const float> values) {
  Fp8Tensor tensor;
  tensor.scale = Fp8ScaleForAbsmax(FiniteAbsmax(values));
  tensor.codes.reserve(values.size());
  for (float v : values) tensor.codes.push_back(FloatToFp8E4M3(v / tensor.scale));
  return tensor;
}

void DequantizeFp8(std::span<const uint8_t> codes, float scale, std::span<float> out) {
  assert(codes.size() == out.size());
  for (size_t i = 0; i < codes.size(); ++i) out[i] = Fp8E4M3ToFloat(codes[i]) * scale;
}

}  // namespace kpolicy::kernels
