// The parts of the gate (parity_gate.h) that need no GPU: the probe, the
// judgement, the loop over the bound GEMV knobs.
#include <cstdio>

#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;

namespace {

// 512 outputs of 2048 inputs, two activation rows carrying two massive
// channels (100..1000x), fixed seeds so every start checks the same.
constexpr int64_t kProbeN = 512, kProbeK = 2048;
constexpr int kProbeM = 2;

}  // namespace

std::string GateResult::ToString() const {
  char numbers[128];
  std::snprintf(numbers, sizeof numbers, "error vs CPU %.3g, cosine vs fp64 %.6f, non-finite %lld", error_vs_cpu,
                cosine_vs_reference, static_cast<long long>(nonfinite));
  return knob + " = " + variant + (passed ? " passed: " : " FAILED: ") + numbers + (detail.empty() ? "" : "; " + detail);
}

GateProbe MakeGateProbe(kn::GemvOp op) {
  GateProbe p;
  kn::ActivationSpec spec;
  spec.rows = kProbeM;
  spec.cols = kProbeK;
  spec.massive_channels = 2;
  p.x = kn::MakeActivations(0x9a7e, spec);
  p.m = kProbeM;
  std::vector<float> w = kn::GaussianWeights(0x9a7f, kProbeN, kProbeK);
  kn::DampMassiveColumns(w, kProbeN, kProbeK, p.x.massive, p.x.massive_factor);
  p.weights = kn::QuantizeWeights(kn::GemvOpFormat(op), w, kProbeN, kProbeK);
  p.reference = kn::ReferenceGemv(p.weights.view(), p.x.values, kProbeM);
  return p;
}

GateResult JudgeGateOutputs(const std::string& knob, const kn::GemvVariant& variant, const GateProbe& probe,
                            std::span<const float> candidate) {
  GateResult r;
  r.knob = knob;
  r.variant = std::string(variant.name);
  const int64_t n = probe.weights.view().rows;
  if (static_cast<int64_t>(candidate.size()) != probe.m * n) {
    r.detail = "the kernel returned " + std::to_string(candidate.size()) + " outputs, not M x N";
    return r;
  }
  const std::vector<float> cpu = variant.emulate(probe.weights.view(), probe.x.values, probe.m);
  const kn::ParityMetrics vs_cpu = kn::ComputeParity(cpu, candidate, n);
  const kn::ParityMetrics vs_reference = kn::ComputeParity(probe.reference, candidate, n);
  r.nonfinite = vs_cpu.candidate_nan_count + vs_cpu.candidate_inf_count;
  r.error_vs_cpu = vs_cpu.relative_l2_error;
  r.cosine_vs_reference = vs_reference.cosine;
  // NaN compares false, so a non-finite output fails both checks too.
  r.passed = r.nonfinite == 0 && r.error_vs_cpu <= kGateMaxErrorVsCpu &&
             r.cosine_vs_reference >= kGateMinCosineVsReference;
  if (!r.passed) {
    if (r.nonfinite) r.detail = "non-finite outputs";
    else if (!(r.error_vs_cpu <= kGateMaxErrorVsCpu)) r.detail = "the GPU does not compute the variant's arithmetic";
    else r.detail = "outside the massive-activation envelope";
  }
  return r;
}

std::vector<GateResult> RunParityGate(const DispatchTable& table) {
  std::vector<GateResult> out;
  for (const kn::GemvOp op : kn::kGemvOps) {
    const std::string knob(kn::GemvOpName(op));
    if (const kn::GemvVariant* kernel = table.gemv_kernel(op)) {
      out.push_back(CheckGemvKernel(knob, *kernel, table.mwv_warps));
    } else {
      out.push_back({knob, table.gemv_name(op), false, 0, 0, 0, "the dispatch table binds no kernel"});
    }
  }
  return out;
}

}  // namespace kpolicy::runtime
