// The load-time parity gate: before serving, each GEMV kernel the dispatch
// table selects runs once on a small probe with massive activations (the
// workload that exposes INT8 activation rounding) and is compared with the
// CPU. It passes when every output is finite, the GPU matches the CPU
// emulation of the same variant's arithmetic (the `emulate` column of
// kernels/gemv_variants.h) to within fp32 reassociation, and the output
// stays within the massive-activation envelope of the contracts against the
// fp64 reference. The runtime switches a failed knob to the fallback its
// policy declares, or stops.
//
// The probe and the judgement are plain C++ (any build); only running a
// kernel needs CUDA: a build without it, or a row without a kernel, fails
// the check saying so.
//
// Thread-safety: CheckGemvKernel and RunParityGate use the current CUDA
// device; call them from one thread at startup. The rest is pure.
#ifndef KPOLICY_RUNTIME_PARITY_GATE_H_
#define KPOLICY_RUNTIME_PARITY_GATE_H_

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/workload.h"
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
  double error_vs_cpu = 0;          // relative L2 against the CPU emulation of the variant
  double cosine_vs_reference = 0;   // against the fp64 reference
  int64_t nonfinite = 0;            // NaN or Inf outputs
  std::string detail;               // why it failed, or the launch error

  std::string ToString() const;     // "q4k = HwDp4a passed: error vs CPU 1.2e-07, cosine 0.9945"
};

// The probe of one operation: 512 outputs of 2048 inputs in the op's
// format, two activation rows with two massive channels, fixed seeds, and
// its fp64 reference. Cost: ~1M multiply-adds.
struct GateProbe {
  kernels::WeightMatrix weights;
  kernels::Activations x;
  int m = 0;
  std::vector<double> reference;
};
GateProbe MakeGateProbe(kernels::GemvOp op);

// Judges `candidate` (M x N outputs for the probe) against the variant's CPU
// emulation and the fp64 reference.
GateResult JudgeGateOutputs(const std::string& knob, const kernels::GemvVariant& variant, const GateProbe& probe,
                            std::span<const float> candidate);

// Runs `variant`'s kernel on the probe and judges it. The row need not be in
// the built-in table: tests hand it a deliberately broken kernel.
GateResult CheckGemvKernel(const std::string& knob, const kernels::GemvVariant& variant, int mwv_warps);

// Runs the gate for the GEMV knobs of `table`. Cost: a few milliseconds of
// CPU reference work and two small kernel launches per knob.
using GateRunner = std::function<std::vector<GateResult>(const DispatchTable& table)>;

// The real gate on the current CUDA device: CheckGemvKernel for each GEMV
// row the table binds.
std::vector<GateResult> RunParityGate(const DispatchTable& table);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_PARITY_GATE_H_
