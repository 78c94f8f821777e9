#include <cstdio>

#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

std::string GateResult::ToString() const {
  char numbers[128];
  std::snprintf(numbers, sizeof numbers, "error vs CPU %.3g, cosine vs fp64 %.6f, non-finite %lld", error_vs_cpu,
                cosine_vs_reference, static_cast<long long>(nonfinite));
  return knob + " = " + variant + (passed ? " passed: " : " FAILED: ") + numbers + (detail.empty() ? "" : "; " + detail);
}

}  // namespace kpolicy::runtime
