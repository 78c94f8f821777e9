// FP8 E4M3 as NVIDIA and the OCP 8-bit floating point spec define it
// ("e4m3fn"): 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits; no
// infinities; S.1111.111 (0x7F, 0xFF) is NaN, so the largest finite value is
// S.1111.110 = 448. Plus the per-tensor scaling that FP8 GEMMs use: a tensor
// is stored as codes of value/scale with scale = absmax/448, and read back as
// decode(code) * scale.
//
// Thread-safety: pure functions and value types.
#ifndef KPOLICY_KERNELS_FP8_H_
#define KPOLICY_KERNELS_FP8_H_

#include <cstdint>
#include <span>
#include <vector>

namespace kpolicy::kernels {

inline constexpr float kFp8E4M3Max = 448.0f;
inline constexpr uint8_t kFp8E4M3NaN = 0x7F;

// Round to nearest, ties to even; finite values and infinities beyond +-448
// saturate to +-448 (the __NV_SATFINITE behaviour of cvt.rn.satfinite);
// NaN becomes 0x7F with the input's sign.
uint8_t FloatToFp8E4M3(float value);

// Exact. Subnormals are m * 2^-9 for m in 1..7.
float Fp8E4M3ToFloat(uint8_t code);

// A whole tensor in FP8 with one scale: value[i] ~ Fp8E4M3ToFloat(codes[i]) * scale.
struct Fp8Tensor {
  std::vector<uint8_t> codes;
  float scale = 1.0f;
};

// absmax / 448, so that the largest magnitude maps to the largest code. An
// all-zero (or empty) tensor gets scale 1 so that decoding never divides by
// zero. Non-finite absmax is the caller's problem: it gives a non-finite scale.
float Fp8ScaleForAbsmax(float absmax);

// Largest |value| over the finite entries; NaN and inf are skipped so that
// one bad value does not wipe out the whole tensor's scale.
float FiniteAbsmax(std::span<const float> values);

// Encodes every value as FloatToFp8E4M3(value / scale) with
// scale = Fp8ScaleForAbsmax(FiniteAbsmax(values)).
Fp8Tensor QuantizeFp8PerTensor(std::span<const float> values);

// Writes decode(codes[i]) * scale into out; out.size() must equal codes.size().
void DequantizeFp8(std::span<const uint8_t> codes, float scale, std::span<float> out);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_FP8_H_
