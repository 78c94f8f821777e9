// IEEE 754 binary16 ("half") conversion, the storage type of the GGUF block
// scales (d, dmin, s) and of F16 weights. Written here rather than taken from
// a compiler extension so that the CPU reference rounds exactly as the GPU's
// __float2half_rn does on every host.
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

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_HALF_H_
