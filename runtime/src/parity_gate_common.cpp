// The parts of the gate (parity_gate.h) that need no GPU: the probes, the
// bounds, the judgement, the list of checks and the loop over them.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/half.h"
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
constexpr double kUnitRoundoff = 1.0 / 16777216.0;  // 2^-24, fp32

double Silu(double g) { return g / (1.0 + std::exp(-g)); }

kn::Activations ProbeActivations() {
  kn::ActivationSpec spec;
  spec.rows = kProbeM;
  spec.cols = kProbeK;
  spec.massive_channels = 2;
  return kn::MakeActivations(0x9a7e, spec);
}

kn::WeightMatrix ProbeWeights(uint64_t seed, kn::WeightFormat format, const kn::Activations& x) {
  std::vector<float> w = kn::GaussianWeights(seed, kProbeN, kProbeK);
  kn::DampMassiveColumns(w, kProbeN, kProbeK, x.massive, x.massive_factor);
  return kn::QuantizeWeights(format, w, kProbeN, kProbeK);
}

// Row `row`'s term magnitudes a_k: with split_terms, |d sc q| + |dmin m| for
// Q4_K (a GEMV kernel may evaluate the two terms apart, so their
// cancellation must not shrink the bound; on a damped massive column the
// min term is most of it); |w| for formats with one term per weight and for
// the GEMMs, which read weights dequantised once.
void TermMagnitudes(const kn::WeightView& w, int64_t row, bool split_terms, std::vector<double>& out) {
  out.assign(w.cols, 0.0);
  if (!split_terms || w.format != kn::WeightFormat::kQ4K) {
    std::vector<double> exact(w.cols);
    kn::ReferenceRow(w, row, exact);
    for (int64_t k = 0; k < w.cols; ++k) out[k] = std::fabs(exact[k]);
    return;
  }
  const uint8_t* bytes = w.bytes.data() + row * kn::RowBytes(w.format, w.cols);
  for (int64_t b = 0; b < w.cols / kn::kSuperBlockSize; ++b) {
    kn::BlockQ4K block;
    std::memcpy(&block, bytes + b * sizeof(block), sizeof(block));
    const double d = kn::HalfToFloat(block.d), dmin = kn::HalfToFloat(block.dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, mn;
      kn::Q4KScaleMin(block, j, &sc, &mn);
      for (int i = 0; i < 32; ++i) {
        out[b * 256 + 32 * j + i] = std::fabs(d * sc * kn::Q4KQuant(block, 32 * j + i)) + std::fabs(dmin * mn);
      }
    }
  }
}

GateBound FromRelativeL2(double e, std::string derivation) {
  GateBound b;
  b.max_relative_l2 = e;
  b.min_cosine = e < 1 ? std::sqrt(1 - e * e) : 0;
  b.derivation = std::move(derivation);
  return b;
}

// Reassociated fp32 sums plus independent input rounding of relative u
// (parity_gate.h), as a relative L2 bound over all outputs.
GateBound RoundingBound(const GateProbe& probe, double u, bool split_terms, const char* what) {
  const kn::WeightView w = probe.weights.view();
  const int64_t k = w.cols;
  std::vector<double> magnitude, exact(k);
  double bound_sq = 0, reference_sq = 0;
  for (int64_t row = 0; row < w.rows; ++row) {
    TermMagnitudes(w, row, split_terms, magnitude);
    kn::ReferenceRow(w, row, exact);
    for (int m = 0; m < probe.m; ++m) {
      const float* x = probe.x.values.data() + m * k;
      double s = 0, q = 0;
      for (int64_t i = 0; i < k; ++i) {
        s += magnitude[i] * std::fabs(x[i]);
        q += exact[i] * x[i] * exact[i] * x[i];
      }
      const double e = static_cast<double>(k + 4) * kUnitRoundoff * s + 2 * std::sqrt(2.0 / 3.0) * u * std::sqrt(q);
      bound_sq += e * e;
      const double r = probe.reference[m * w.rows + row];
      reference_sq += r * r;
    }
  }
  char text[160];
  std::snprintf(text, sizeof text, "%s: (K+4) 2^-24 sum|a x| + 2 sqrt(2/3) u |w x|_2, u = %.3g, over ||fp64||", what,
                u);
  return FromRelativeL2(std::sqrt(bound_sq / reference_sq), text);
}

}  // namespace

const char* GateArithmeticName(GateArithmetic arithmetic) {
  switch (arithmetic) {
    case GateArithmetic::kFloatActivations: return "float activations";
    case GateArithmetic::kDp4aQ8_1: return "DP4A on Q8_1";
    case GateArithmetic::kFp16Inputs: return "FP16 inputs";
    case GateArithmetic::kFp8E4M3Inputs: return "FP8 E4M3 inputs";
  }
  return "?";
}

GateArithmetic GateArithmeticOf(kn::Arithmetic arithmetic) {
  return arithmetic == kn::Arithmetic::kDp4aQ8_1 ? GateArithmetic::kDp4aQ8_1 : GateArithmetic::kFloatActivations;
}

std::string GateResult::ToString() const {
  char numbers[200];
  std::snprintf(numbers, sizeof numbers, "cosine vs fp64 %.6f (>= %.6f), rel L2 %.3g (<= %.3g), non-finite %lld",
                cosine, bound.min_cosine, relative_l2, bound.max_relative_l2, static_cast<long long>(nonfinite));
  return knob + " = " + value + " [" + path + "]" + (passed ? " passed: " : " FAILED: ") + numbers +
         (detail.empty() ? "" : "; " + detail);
}

GateProbe MakeGateProbe(kn::WeightFormat format) {
  GateProbe p;
  p.x = ProbeActivations();
  p.m = kProbeM;
  p.weights = ProbeWeights(0x9a7f, format, p.x);
  p.reference = kn::ReferenceGemv(p.weights.view(), p.x.values, kProbeM);
  return p;
}

FusedGateUpProbe MakeFusedGateUpProbe() {
  FusedGateUpProbe p;
  p.gate = MakeGateProbe(kn::WeightFormat::kQ4K);
  p.up = ProbeWeights(0x9a80, kn::WeightFormat::kQ4K, p.gate.x);
  const std::vector<double> u = kn::ReferenceGemv(p.up.view(), p.gate.x.values, kProbeM);
  for (size_t i = 0; i < u.size(); ++i) p.gate.reference[i] = Silu(p.gate.reference[i]) * u[i];
  return p;
}

GateBound GateBoundFor(GateArithmetic arithmetic, const GateProbe& probe) {
  switch (arithmetic) {
    case GateArithmetic::kFloatActivations: return RoundingBound(probe, 0, true, "fp32 sums");
    case GateArithmetic::kFp16Inputs:
      return RoundingBound(probe, kFp16InputRounding, false, "FP16 inputs, fp32 sums");
    case GateArithmetic::kFp8E4M3Inputs:
      return RoundingBound(probe, kFp8E4M3InputRounding, false, "E4M3 inputs, fp32 sums");
    case GateArithmetic::kDp4aQ8_1: break;
  }
  GateBound b = FromRelativeL2(std::sqrt(1 - kGateMinCosineVsReference * kGateMinCosineVsReference),
                               "Q8_1 rounding: the contracts' massive-activation floor, cosine >= 0.95");
  b.min_cosine = kGateMinCosineVsReference;  // exactly the contract's, not its round trip through sqrt
  return b;
}

GateResult JudgeGateOutputs(const std::string& knob, const std::string& value, const std::string& path,
                            std::span<const double> reference, std::span<const float> candidate,
                            const GateBound& bound) {
  GateResult r;
  r.knob = knob;
  r.value = value;
  r.path = path;
  r.bound = bound;
  if (candidate.size() != reference.size()) {
    r.detail = "the kernel returned " + std::to_string(candidate.size()) + " outputs, not " +
               std::to_string(reference.size());
    return r;
  }
  const kn::ParityMetrics metrics = kn::ComputeParity(reference, candidate);
  r.nonfinite = metrics.candidate_nan_count + metrics.candidate_inf_count;
  r.cosine = metrics.cosine;
  r.relative_l2 = metrics.relative_l2_error;
  // Non-finite outputs make both metrics NaN (parity.h), so they fail both
  // comparisons as well.
  r.passed = r.nonfinite == 0 && r.cosine >= bound.min_cosine && r.relative_l2 <= bound.max_relative_l2;
  if (!r.passed) {
    r.detail = r.nonfinite ? "non-finite or unwritten outputs"
                           : "outside the bound of its arithmetic (" + bound.derivation + ")";
  }
  return r;
}

std::vector<GateCheck> GateChecksFor(const DispatchTable& t) {
  std::vector<GateCheck> out;
  for (const kn::GemvOp op : kn::kGemvOps) out.push_back({std::string(kn::GemvOpName(op)), GateCheck::kGemv, op});
  if (t.fused_gate_up) out.push_back({"fused_gate_up", GateCheck::kFusedGateUp});
  // batched_prefill without FP8 is the FP16 prefill GEMM; with FP8 the FP8
  // one, which fp8_prefill's own check covers. Without batching the prefill
  // is the GEMV loop, gated by q4k / q6k.
  if (t.batched_prefill && !t.fp8_prefill) {
    out.push_back({"batched_prefill", GateCheck::kGemm, {}, GatedGemm::kFp16});
  }
  if (t.fp8_prefill) out.push_back({"fp8_prefill", GateCheck::kGemm, {}, GatedGemm::kFp8});
  if (t.fp8_decode) out.push_back({"fp8_decode", GateCheck::kGemm, {}, GatedGemm::kFp8});
  if (t.hgemm_decode) out.push_back({"hgemm_decode", GateCheck::kGemm, {}, GatedGemm::kFp16});
  if (t.w4a16_interleaved) out.push_back({"w4a16_interleaved", GateCheck::kGemm, {}, GatedGemm::kW4a16});
  return out;
}

std::vector<GateResult> RunParityGate(const DispatchTable& table) {
  std::vector<GateResult> out;
  for (const GateCheck& c : GateChecksFor(table)) {
    switch (c.kind) {
      case GateCheck::kGemv:
        if (const kn::GemvVariant* kernel = table.gemv_kernel(c.op)) {
          out.push_back(CheckGemvKernel(c.knob, *kernel, table.mwv_warps));
        } else {
          GateResult r;
          r.knob = c.knob;
          r.value = table.gemv_name(c.op);
          r.path = c.knob + "_gemv";
          r.detail = "the dispatch table binds no kernel";
          out.push_back(r);
        }
        break;
      case GateCheck::kFusedGateUp: out.push_back(CheckFusedGateUp()); break;
      case GateCheck::kGemm: out.push_back(CheckGemmPath(c.knob, c.gemm)); break;
    }
  }
  return out;
}

}  // namespace kpolicy::runtime
