// The load-time parity gate: before serving, every kernel or GEMM path the
// dispatch table turns on runs once on a small probe and is judged against
// the CPU fp64 reference (kernels/reference.h), never against a CPU copy of
// its own arithmetic: an emulation can only show that a kernel computes what
// it claims, not that the claim is accurate (issue 11: HwDp4a matched its
// emulation and still diverged on a real model). What is gated:
//
//   knob                 path                      arithmetic class
//   q4k, q6k             the bound GEMV row        its row's (float or DP4A)
//   fused_gate_up        silu(gate.x) * (up.x)     DP4A on Q8_1 (HwDp4a's)
//   batched_prefill      FP16 cuBLAS prefill GEMM  FP16 inputs, fp32 sums
//                        (when fp8_prefill is off)
//   fp8_prefill          FP8 cuBLASLt GEMM         E4M3, per-tensor scales
//   fp8_decode           FP8 cuBLASLt GEMM         E4M3, per-tensor scales
//   hgemm_decode         FP16 cuBLAS GEMM          FP16 inputs, fp32 sums
//   w4a16_interleaved    W4A16 WMMA GEMM           FP16 inputs, fp32 sums
//
// Each result carries the knob, its value, the path, the metrics (cosine and
// relative L2 against fp64, non-finite outputs) and the bound it was held
// to; a kernel passes when every output is finite (the output buffer is
// poisoned with NaN first, so an unwritten element fails) and it is within
// its bound. The bound comes from the arithmetic class (GateBoundFor):
//
//  - Float activations and the FP16/FP8 GEMMs, per output i with
//    S_i = sum_k a_ik |x_k| (a_ik the magnitude of weight (i, k)'s terms, as
//    kernels/gemv_variants.h states the float bound) and
//    Q_i = sqrt(sum_k (w_ik x_k)^2):
//        fp32 summation, worst case:   (K + 4) 2^-24 S_i
//        input rounding (u per input, uniform in its ulp, independent over
//        k, two inputs per product): RMS sqrt(2/3) u Q_i, taken twice for
//        margin: 2 sqrt(2/3) u Q_i
//    u = 0 (float activations: fp32 activations are exact inputs), 2^-11
//    (FP16 RNE), 2^-4 (E4M3 RNE: three mantissa bits, half an ulp is 2^-4
//    relative). Summed over outputs in L2 and divided by ||reference||: the
//    relative-L2 bound e; the cosine bound follows, sqrt(1 - e^2) (c = r + d
//    with ||d|| <= e ||r|| is at most arcsin(e) from r). On the probe that
//    gives about e = 0.1 for FP8 and 0.004 for FP16, the figures
//    contracts/gemm-paths.yaml holds those paths to (0.1 and 0.005).
//  - DP4A on Q8_1 (and the fused kernel): the activation rounding of a block
//    that holds a massive channel is 10-18% of its neighbours
//    (kernels/README.md), far from independent across k, so no useful
//    worst-case bound exists; the gate holds these to the contracts'
//    massive-activation floor, cosine >= 0.95 (KPOLICY-GEMV-MASSIVE-Q4K/Q6K in
//    contracts/cpu-gpu-parity.yaml), e = sqrt(1 - 0.95^2) = 0.312.
//
// The probes, bounds and judgement are plain C++ (any build); only running a
// kernel needs CUDA: a build without it fails each check saying so.
//
// Thread-safety: the Check* functions and RunParityGate use the current CUDA
// device; call them from one thread at startup. The rest is pure.
// Cost: each probe is 512 x 2048 weights and 2 activation rows (~1M
// multiply-adds of fp64 reference); a full gate is a few milliseconds of CPU
// work and one or two launches per gated path.
#ifndef KPOLICY_RUNTIME_PARITY_GATE_H_
#define KPOLICY_RUNTIME_PARITY_GATE_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/workload.h"
#include "kpolicy/runtime/dispatch.h"

namespace kpolicy::runtime {

// contracts/cpu-gpu-parity.yaml's massive-activation floor, the DP4A class's
// bound (see above).
inline constexpr double kGateMinCosineVsReference = 0.95;
// For `policyctl run`'s decoder demo, which also checks that a kernel agrees
// with its own emulation: fp32 sums over K = 2048 terms, reassociated, differ
// by at most about K * 2^-24 ~ 1.2e-4 relative; 1e-3 leaves 8x. Not a gate
// criterion.
inline constexpr double kGateMaxErrorVsCpu = 1e-3;

// Per-input relative rounding of the classes (half an ulp, round to nearest).
inline constexpr double kFp16InputRounding = 1.0 / 2048.0;  // 2^-11
inline constexpr double kFp8E4M3InputRounding = 1.0 / 16.0;  // 2^-4

// What a path's arithmetic does to its inputs (the bound's class).
enum class GateArithmetic {
  kFloatActivations,  // fp32 activations, dequantised weights, fp32 sums
  kDp4aQ8_1,          // Q8_1 activations, int8 dot products
  kFp16Inputs,        // weights and activations rounded to FP16, fp32 sums
  kFp8E4M3Inputs,     // weights and activations E4M3 with per-tensor scales, fp32 sums
};
const char* GateArithmeticName(GateArithmetic arithmetic);

struct GateBound {
  double max_relative_l2 = 0;
  double min_cosine = 1;
  std::string derivation;  // one line: where the numbers come from
};

struct GateResult {
  std::string knob;   // "q4k", "fp8_decode", ...
  std::string value;  // the knob's value the check ran: "HwDp4a", "true"
  std::string path;   // what ran: "q4k_gemv HwDp4a", "fp8_lt", ...
  bool passed = false;
  double cosine = 0;       // against the fp64 reference
  double relative_l2 = 0;  // against the fp64 reference
  int64_t nonfinite = 0;   // NaN or Inf outputs (unwritten ones stay NaN)
  GateBound bound;
  std::string detail;  // why it failed, or the launch error

  // "q4k = HwDp4a passed: cosine 0.999412 >= 0.950000, rel L2 0.0341 <= 0.312, non-finite 0"
  std::string ToString() const;
};

// The probe of one weight format: 512 outputs of 2048 inputs, two activation
// rows with two massive channels (100..1000x, their weight columns damped as
// in trained models), fixed seeds, and the fp64 reference.
struct GateProbe {
  kernels::WeightMatrix weights;
  kernels::Activations x;
  int m = 0;
  std::vector<double> reference;
};
GateProbe MakeGateProbe(kernels::WeightFormat format);
// The fused gate+up probe: the Q4_K probe's weights as gate, a second
// Q4_K matrix as up, the same activations; reference = silu(g) * u in fp64.
struct FusedGateUpProbe {
  GateProbe gate;  // gate.reference is silu(gate . x) * (up . x)
  kernels::WeightMatrix up;
};
FusedGateUpProbe MakeFusedGateUpProbe();

// The bound for `arithmetic` on `probe`'s weights and activations (see the
// header comment). Cost: one pass over the weights' terms (~M N K).
GateBound GateBoundFor(GateArithmetic arithmetic, const GateProbe& probe);
GateArithmetic GateArithmeticOf(kernels::Arithmetic arithmetic);

// Judges `candidate` (M x N outputs) against `reference` within `bound`.
GateResult JudgeGateOutputs(const std::string& knob, const std::string& value, const std::string& path,
                            std::span<const double> reference, std::span<const float> candidate,
                            const GateBound& bound);

// Runs `variant`'s kernel on its format's probe and judges it. The row need
// not be in the built-in table: tests hand it a deliberately broken kernel.
GateResult CheckGemvKernel(const std::string& knob, const kernels::GemvVariant& variant, int mwv_warps);
// The fused gate+up+SwiGLU kernel (gemv_launch.h) on its probe.
GateResult CheckFusedGateUp();
// The GEMM path a boolean knob turns on (gemm_paths.h) on the Q4_K probe.
enum class GatedGemm { kFp8, kFp16, kW4a16 };
GateResult CheckGemmPath(const std::string& knob, GatedGemm gemm);

// One check the table asks for.
struct GateCheck {
  std::string knob;
  enum Kind { kGemv, kFusedGateUp, kGemm } kind = kGemv;
  kernels::GemvOp op = kernels::GemvOp::kQ4K;  // kGemv
  GatedGemm gemm = GatedGemm::kFp8;            // kGemm
};
// Every path `table` turns on, in the order of the header's list.
std::vector<GateCheck> GateChecksFor(const DispatchTable& table);

// Runs the gate for `table`. Tests inject their own (broken kernels, fake
// results); Runtime::Start uses RunParityGate where GPU kernels run.
using GateRunner = std::function<std::vector<GateResult>(const DispatchTable& table)>;

// The real gate on the current CUDA device: each GateChecksFor check.
std::vector<GateResult> RunParityGate(const DispatchTable& table);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_PARITY_GATE_H_
