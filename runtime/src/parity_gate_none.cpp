// The gate's kernel run in a build without CUDA: no kernel can run, so none
// can pass (parity_gate.h).
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

GateResult CheckGemvKernel(const std::string& knob, const kernels::GemvVariant& variant, int) {
  GateResult r;
  r.knob = knob;
  r.variant = std::string(variant.name);
  r.detail = "this build has no CUDA kernels to check";
  return r;
}

}  // namespace kpolicy::runtime
