// The gate's kernel run in builds with CUDA (parity_gate.h).
#include "kpolicy/kernels/gemv_runner.h"
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;

GateResult CheckGemvKernel(const std::string& knob, const kn::GemvVariant& variant, int mwv_warps) {
  const GateProbe probe = MakeGateProbe(variant.op);
  auto gemv = kn::gpu::DeviceGemv::Create(variant, probe.weights.view());
  auto y = gemv.ok() ? gemv->Run(probe.x.values, probe.m, mwv_warps) : Fail(gemv.error());
  if (!y.ok()) {
    GateResult r;
    r.knob = knob;
    r.variant = std::string(variant.name);
    r.detail = "kernel failed: " + y.error().ToString();
    return r;
  }
  return JudgeGateOutputs(knob, variant, probe, *y);
}

}  // namespace kpolicy::runtime
