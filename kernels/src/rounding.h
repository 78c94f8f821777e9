// Rounding helpers shared by the quantisers. Private to the library: the
// public headers promise formats, not these helpers.
#ifndef KPOLICY_KERNELS_SRC_ROUNDING_H_
#define KPOLICY_KERNELS_SRC_ROUNDING_H_

#include <cmath>

namespace kpolicy::kernels {

// Ties to even without depending on the process's floating-point rounding
// mode (std::nearbyint would), which is global mutable state.
inline float RoundHalfEven(float value) {
  const float floor_value = std::floor(value);
  const float diff = value - floor_value;
  if (diff > 0.5f) return floor_value + 1.0f;
  if (diff < 0.5f) return floor_value;
  return std::fmod(floor_value, 2.0f) == 0.0f ? floor_value : floor_value + 1.0f;
}

// Ties away from zero, as C's roundf: what the GGUF quantisers use for
// their integer levels, so the codes match theirs on ties.
inline int RoundToInt(float value) { return static_cast<int>(std::lround(value)); }

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_SRC_ROUNDING_H_
