#include <cmath>
#include <tuple>

#include "kpolicy/kernels/gemv_registry.h"
#include "kpolicy/kernels/gemv_runner.h"
#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/variant_arithmetic.h"
#include "kpolicy/kernels/workload.h"
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {
namespace {

namespace kn = kpolicy::kernels;

// The probe: 512 outputs of 2048 inputs, two activation rows carrying two
// massive channels (100..1000x), fixed seeds so every start checks the same.
constexpr int64_t kProbeN = 512, kProbeK = 2048;
constexpr int kProbeM = 2;

}  // namespace

GateResult CheckGemvKernel(const std::string& knob, const kn::gpu::GemvVariant& kernel, int mwv_warps) {
  GateResult r;
  r.knob = knob;
  r.variant = std::string(kernel.name);
  const kn::gpu::GemvOp op = kernel.op;
  const kn::VariantArithmetic* arithmetic = kn::FindVariantArithmetic(knob, kernel.name);
  if (!arithmetic) {
    r.detail = "no CPU arithmetic for this variant";
    return r;
  }
  kn::ActivationSpec spec;
  spec.rows = kProbeM;
  spec.cols = kProbeK;
  spec.massive_channels = 2;
  const kn::Activations x = kn::MakeActivations(0x9a7e, spec);
  std::vector<float> w = kn::GaussianWeights(0x9a7f, kProbeN, kProbeK);
  kn::DampMassiveColumns(w, kProbeN, kProbeK, x.massive, x.massive_factor);
  const kn::WeightMatrix weights =
      kn::QuantizeWeights(op == kn::gpu::GemvOp::kQ4K ? kn::WeightFormat::kQ4K : kn::WeightFormat::kQ6K, w,
                          kProbeN, kProbeK);

  auto gemv = kn::gpu::DeviceGemv::Create(kernel, weights.view());
  auto y = gemv.ok() ? gemv->Run(x.values, kProbeM, mwv_warps) : Fail(gemv.error());
  if (!y.ok()) {
    r.detail = "kernel failed: " + y.error().ToString();
    return r;
  }
  const std::vector<float> cpu = kn::RunVariantOnCpu(*arithmetic, weights.view(), x.values, kProbeM);
  const std::vector<double> reference = kn::ReferenceGemv(weights.view(), x.values, kProbeM);
  const kn::ParityMetrics vs_cpu = kn::ComputeParity(cpu, *y, kProbeN);
  const kn::ParityMetrics vs_reference = kn::ComputeParity(reference, *y, kProbeN);
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
  for (const auto& [knob, op, variant] : {std::tuple{"q4k", kn::gpu::GemvOp::kQ4K, table.q4k},
                                          std::tuple{"q6k", kn::gpu::GemvOp::kQ6K, table.q6k}}) {
    if (const kn::gpu::GemvVariant* kernel = kn::gpu::FindGemvVariant(op, variant)) {
      out.push_back(CheckGemvKernel(knob, *kernel, table.mwv_warps));
    } else {
      out.push_back({knob, variant, false, 0, 0, 0, "no such kernel in this build"});
    }
  }
  return out;
}

}  // namespace kpolicy::runtime
