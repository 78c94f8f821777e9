// The gate's kernel runs in a build without CUDA: no kernel can run, so none
// can pass (parity_gate.h).
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

namespace {

GateResult NoKernel(const std::string& knob, const std::string& value, const std::string& path) {
  GateResult r;
  r.knob = knob;
  r.value = value;
  r.path = path;
  r.detail = "this build has no CUDA kernels to check";
  return r;
}

}  // namespace

GateResult CheckGemvKernel(const std::string& knob, const kernels::GemvVariant& variant, int) {
  return NoKernel(knob, std::string(variant.name), knob + "_gemv " + std::string(variant.name));
}

GateResult CheckFusedGateUp() { return NoKernel("fused_gate_up", "true", "fused gate+up+SwiGLU (HwDp4a)"); }

GateResult CheckGemmPath(const std::string& knob, GatedGemm) { return NoKernel(knob, "true", knob); }

}  // namespace kpolicy::runtime
