// The load-time parity gate: before serving, each GEMV kernel the dispatch
// table selects runs once on a small probe with massive activations (the
// workload that exposes INT8 activation rounding) and is compared with the
// CPU. It passes when every output is finite, the GPU matches the CPU run of
// the same variant's arithmetic (kernels/variant_arithmetic.h) to within
// fp32 reassociation, and the output stays within the massive-activation
// envelope of the contracts against the fp64 reference. The runtime switches
// a failed knob to the fallback its policy declares, or stops.
//
// Thread-safety: RunParityGate uses the current CUDA device; call it from one
// thread at startup.
#ifndef KPOLICY_RUNTIME_PARITY_GATE_H_
#define KPOLICY_RUNTIME_PARITY_GATE_H_

#include <functional>
#include <string>
#include <vector>

#include "kpolicy/kernels/gemv_registry.h"
#include "kpolicy/runtime/dispatch.h"

namespace kpolicy::runtime {

// fp32 sums over K = 2048 terms, reassociated, differ by at most about
// K * 2^-24 ≈ 1.2e-4 relative; 1e-3 leaves 8x for that and still catches a
// kernel that computes anything else.
inline constexpr double kGateMaxErrorVsCpu = 1e-3;
// contracts/cpu-gpu-parity.yaml's massive-activation envelope.
inline constexpr double kGateMinCosineVsReference = 0.95;

struct GateResult {
  std::string knob;     // "q4k"
  std::string variant;  // "HwDp4a"
  bool passed = false;
  double error_vs_cpu = 0;          // relative L2 against the CPU run of the variant
  double cosine_vs_reference = 0;   // against the fp64 reference
  int64_t nonfinite = 0;            // NaN or Inf outputs
  std::string detail;               // why it failed, or the launch error

  std::string ToString() const;     // "q4k = HwDp4a passed: error vs CPU 1.2e-07, cosine 0.9945"
};

// Runs the gate for the GEMV knobs of `table`. Cost: a few milliseconds of
// CPU reference work and two small kernel launches per knob.
using GateRunner = std::function<std::vector<GateResult>(const DispatchTable& table)>;

// The real gate on the current CUDA device (a build without CUDA returns
// one failed result per knob saying so).
std::vector<GateResult> RunParityGate(const DispatchTable& table);

// The check behind RunParityGate for one kernel, which need not be in the
// registry: tests hand it a deliberately broken one. CUDA builds only.
GateResult CheckGemvKernel(const std::string& knob, const kernels::gpu::GemvVariant& kernel, int mwv_warps);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_PARITY_GATE_H_
