// IEEE 754 binary16 ("half") conversion, the storage type of the GGUF block
// scales (d, dmin, Q8_1's d) and of F16 weights, and bfloat16 conversion, the
// storage type of Q8_1's block sum s. Written here rather than taken from a
// compiler extension so that the CPU reference rounds exactly as the GPU's
// __float2half_rn / __float2bfloat16_rn do on every host.
//
// Thread-safety: pure functions.
#ifndef KPOLICY_KERNELS_HALF_H_
#define KPOLICY_KERNELS_HALF_H_

#include <cstdint>

namespace kpolicy::kernels {

// Rounds to the nearest half, ties to even. Values too large for a half
// become +-inf; values below half the smallest subnormal (2^-25) become +-0,
// with 2^-25 itself a tie that goes to zero. NaN stays NaN (quiet, with the
// top payload bits kept), and the sign of zero is preserved.
uint16_t FloatToHalf(float value);

// Exact: every half is a float.
float HalfToFloat(uint16_t bits);

// The largest finite half, 65504 = (2 - 2^-10) * 2^15.
inline constexpr float kMaxFiniteHalf = 65504.0f;

// bfloat16: float's sign and 8-bit exponent with 7 stored significand bits
// (8 with the implicit one), so its range is float's (largest finite
// ~3.39e38) and its relative rounding error at most 2^-8 (half a step of
// 2^-7; fp16's is 2^-11). Rounds to the
// nearest bf16, ties to even, subnormals included (no flush to zero): the
// top 16 bits of the float, rounded on the low 16. Values within half a bf16
// step of float's largest finite value or beyond round to +-inf, as
// __float2bfloat16_rn does; every finite |value| < 3.3895e38 stays finite.
// NaN stays NaN (quiet, top payload bits kept).
uint16_t FloatToBf16(float value);

// Exact: every bf16 is a float (its bits are the float's top 16).
float Bf16ToFloat(uint16_t bits);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_HALF_H_
