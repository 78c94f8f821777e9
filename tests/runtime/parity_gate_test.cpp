// The load-time gate's CPU side (no GPU needed): the bound of each
// arithmetic class against the fp64 reference holds the CPU emulation of
// that arithmetic and rejects outputs that are wrong, non-finite or
// unwritten; and the model-level startup gate on a synthetic model with
// Q4_K and Q6_K matrices (through each dispatched row's emulation).
#define BOOST_TEST_MODULE parity_gate
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "../model/synthetic_model.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/json.h"
#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/runtime/model_gate.h"
#include "kpolicy/runtime/parity_gate.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::runtime {
namespace {

namespace kn = kpolicy::kernels;
namespace syn = kpolicy::model::synthetic;

double Silu(double g) { return g / (1.0 + std::exp(-g)); }

GateResult Judge(const GateProbe& p, std::span<const float> candidate, const GateBound& bound) {
  return JudgeGateOutputs("q4k", "x", "test", p.reference, candidate, bound);
}

BOOST_AUTO_TEST_SUITE(kernel_gate_bounds)

BOOST_AUTO_TEST_CASE(every_rows_emulation_is_within_its_class_bound_against_fp64) {
  for (const kn::GemvVariant& v : kn::BuiltinGemvVariants()) {
    const GateProbe p = MakeGateProbe(kn::GemvOpFormat(v.op));
    const GateBound bound = GateBoundFor(GateArithmeticOf(v.arithmetic), p);
    const GateResult r = Judge(p, v.emulate(p.weights.view(), p.x.values, p.m), bound);
    BOOST_TEST(r.passed, v.name << ": " << r.ToString());
    BOOST_TEST_MESSAGE(kn::GemvOpName(v.op) << " " << v.name << ": " << r.ToString());
  }
}

BOOST_AUTO_TEST_CASE(the_float_bound_rejects_q8_1_rounding) {
  const GateProbe p = MakeGateProbe(kn::WeightFormat::kQ4K);
  const GateBound bound = GateBoundFor(GateArithmetic::kFloatActivations, p);
  const GateResult r = Judge(p, kn::EmulateDp4aQ8_1(p.weights.view(), p.x.values, p.m), bound);
  BOOST_TEST(!r.passed, r.ToString());
  BOOST_TEST(r.nonfinite == 0);
}

// The bounds the derivation gives on the probe sit where the GEMM contracts
// (contracts/gemm-paths.yaml) put those paths: FP8 relative L2 about 0.1,
// FP16 a few 1e-3, float below 1e-2; DP4A the massive-activation floor.
BOOST_AUTO_TEST_CASE(derived_bounds_match_the_contracts_scale) {
  const GateProbe p = MakeGateProbe(kn::WeightFormat::kQ4K);
  const GateBound fp8 = GateBoundFor(GateArithmetic::kFp8E4M3Inputs, p);
  const GateBound fp16 = GateBoundFor(GateArithmetic::kFp16Inputs, p);
  const GateBound fp32 = GateBoundFor(GateArithmetic::kFloatActivations, p);
  const GateBound dp4a = GateBoundFor(GateArithmetic::kDp4aQ8_1, p);
  BOOST_TEST_MESSAGE("fp8 " << fp8.max_relative_l2 << " fp16 " << fp16.max_relative_l2 << " fp32 "
                            << fp32.max_relative_l2);
  BOOST_TEST(fp8.max_relative_l2 > 0.05);
  BOOST_TEST(fp8.max_relative_l2 < 0.2);
  BOOST_TEST(fp16.max_relative_l2 < 0.01);
  BOOST_TEST(fp32.max_relative_l2 < 0.05);
  BOOST_TEST(fp8.min_cosine == std::sqrt(1 - fp8.max_relative_l2 * fp8.max_relative_l2));
  BOOST_TEST(dp4a.min_cosine == kGateMinCosineVsReference);
}

// The FP8 path's arithmetic (weights dequantised, then per-tensor E4M3 as
// gemm_paths.h's kFp8Lt does; activations likewise): within the FP8 bound,
// far outside the FP16 one.
BOOST_AUTO_TEST_CASE(fp8_arithmetic_is_within_the_fp8_bound_only) {
  const GateProbe p = MakeGateProbe(kn::WeightFormat::kQ4K);
  const std::vector<float> dense = kn::DequantizeAll(p.weights.view());
  const kn::WeightMatrix fp8 = kn::QuantizeWeights(kn::WeightFormat::kFp8E4M3, dense, p.weights.rows, p.weights.cols);
  const std::vector<float> y = kn::EmulateFp8Path(fp8.view(), p.x.values, p.m);
  const GateResult in_fp8 = Judge(p, y, GateBoundFor(GateArithmetic::kFp8E4M3Inputs, p));
  BOOST_TEST(in_fp8.passed, in_fp8.ToString());
  const GateResult in_fp16 = Judge(p, y, GateBoundFor(GateArithmetic::kFp16Inputs, p));
  BOOST_TEST(!in_fp16.passed, in_fp16.ToString());
}

// FP16 inputs and fp32 sums (the FP16 cuBLAS and W4A16 paths' arithmetic).
BOOST_AUTO_TEST_CASE(fp16_arithmetic_is_within_the_fp16_bound) {
  const GateProbe p = MakeGateProbe(kn::WeightFormat::kQ4K);
  const std::vector<float> dense = kn::DequantizeAll(p.weights.view());
  const kn::WeightMatrix w16 = kn::QuantizeWeights(kn::WeightFormat::kF16, dense, p.weights.rows, p.weights.cols);
  std::vector<float> x16(p.x.values.size());
  for (size_t i = 0; i < x16.size(); ++i) x16[i] = kn::HalfToFloat(kn::FloatToHalf(p.x.values[i]));
  const GateResult r = Judge(p, kn::EmulateFloatPath(w16.view(), x16, p.m), GateBoundFor(GateArithmetic::kFp16Inputs, p));
  BOOST_TEST(r.passed, r.ToString());
}

BOOST_AUTO_TEST_CASE(fused_gate_up_composition_is_within_the_dp4a_bound) {
  const FusedGateUpProbe p = MakeFusedGateUpProbe();
  const std::vector<float> g = kn::EmulateDp4aQ8_1(p.gate.weights.view(), p.gate.x.values, p.gate.m);
  const std::vector<float> u = kn::EmulateDp4aQ8_1(p.up.view(), p.gate.x.values, p.gate.m);
  std::vector<float> y(g.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(Silu(g[i]) * u[i]);
  const GateBound bound = GateBoundFor(GateArithmetic::kDp4aQ8_1, p.gate);
  const GateResult r = JudgeGateOutputs("fused_gate_up", "true", "test", p.gate.reference, y, bound);
  BOOST_TEST(r.passed, r.ToString());
  // gate . x alone (the SwiGLU left out) is something else.
  const GateResult wrong = JudgeGateOutputs("fused_gate_up", "true", "test", p.gate.reference, g, bound);
  BOOST_TEST(!wrong.passed, wrong.ToString());
}

BOOST_AUTO_TEST_CASE(unwritten_wrong_or_short_outputs_fail) {
  const GateProbe p = MakeGateProbe(kn::WeightFormat::kQ4K);
  const GateBound bound = GateBoundFor(GateArithmetic::kFloatActivations, p);
  std::vector<float> y = kn::EmulateFloatActivations(p.weights.view(), p.x.values, p.m);
  BOOST_REQUIRE(Judge(p, y, bound).passed);
  std::vector<float> unwritten = y;
  unwritten[17] = std::numeric_limits<float>::quiet_NaN();  // the poison left in place
  const GateResult a = Judge(p, unwritten, bound);
  BOOST_TEST(!a.passed);
  BOOST_TEST(a.nonfinite == 1);
  BOOST_TEST(a.detail == "non-finite or unwritten outputs");
  // Half of each row copied over the other half: finite, wrong.
  std::vector<float> copied = y;
  const int64_t n = p.weights.rows;
  for (int m = 0; m < p.m; ++m) {
    for (int64_t i = 0; i < n / 2; ++i) copied[m * n + n / 2 + i] = copied[m * n + i];
  }
  const GateResult b = Judge(p, copied, GateBoundFor(GateArithmetic::kDp4aQ8_1, p));
  BOOST_TEST(!b.passed, b.ToString());
  BOOST_TEST(b.nonfinite == 0);
  const GateResult c = Judge(p, std::span<const float>(y).first(10), bound);
  BOOST_TEST(!c.passed);
  BOOST_TEST(c.detail.find("returned 10 outputs") != std::string::npos, c.detail);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- The model gate on a synthetic model --------------------------------

// A gemma3-shaped synthetic model whose attention output is Q4_K and FFN
// down projection Q6_K, written to a temporary GGUF file.
std::string SyntheticModelFile(const std::string& tag) {
  syn::Shape shape;
  shape.arch = "gemma3";
  shape.sliding_window = 4;
  shape.head_dim = 64;  // attn_output: 256 columns
  shape.n_ff = 256;     // ffn_down: 256 columns
  syn::Synthetic s = syn::MakeModel(shape, 21);
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    syn::StoreAs(s, p + "attn_output.weight", kn::WeightFormat::kQ4K);
    syn::StoreAs(s, p + "ffn_down.weight", kn::WeightFormat::kQ6K);
  }
  return syn::WriteModel(s, tag);
}

struct CpuStart {
  StartOptions options;
  CpuStart() {
    options.environment = Environment();
    options.device = FindCatalogDevice("h100")->ToFacts();  // decided for, run on the CPU
    options.system_policy_path = "";
  }
};

BOOST_AUTO_TEST_SUITE(model_gate)

BOOST_AUTO_TEST_CASE(startup_measures_the_dispatched_rows_on_the_model_and_reports_it) {
  const std::string file = SyntheticModelFile("gate_ok");
  CpuStart s;
  s.options.environment->Set("KPOLICY_GATE_MODEL", file);
  s.options.environment->Set("KPOLICY_GATE_MODEL_BUDGET_MS", "600000");
  // Both GEMV knobs on their DP4A rows (q4k is Mwv by default in v2).
  s.options.environment->Set("HW_DP4A_Q4K", "1");
  auto rt = Runtime::Start(s.options);
  BOOST_REQUIRE_MESSAGE(rt.ok(), syn::Why(rt));
  const auto& report = (*rt)->model_gate();
  BOOST_REQUIRE(report.has_value());
  BOOST_TEST(report->positions == 32);  // the budget covers the maximum
  BOOST_REQUIRE(report->results.size() == 2u);
  for (const ModelGateResult& r : report->results) {
    BOOST_TEST_MESSAGE(r.ToString());
    BOOST_TEST(r.runs_on == "cpu emulation");
    BOOST_TEST(r.matrices == 2);
    BOOST_TEST(r.positions == 32);
    BOOST_TEST((r.status == ModelGateResult::kPassed), r.ToString());
    BOOST_TEST(r.min_cosine < 1.0, "the DP4A arithmetic is not exact");
  }
  BOOST_TEST(report->results[0].value == "HwDp4a");
  auto json = ParseJson((*rt)->log_line());
  BOOST_REQUIRE(json.ok());
  const JsonValue* m = json->Find("model_gate");
  BOOST_REQUIRE(m != nullptr);
  BOOST_TEST(m->Find("file")->text == file);
  BOOST_TEST(m->Find("positions")->text == "32");
  BOOST_TEST(m->Find("elapsed_ms") != nullptr);
  BOOST_TEST(m->Find("results")->items[0].Find("status")->text == "passed");
  BOOST_TEST((m->Find("results")->items[0].Find("first_divergence")->kind == JsonValue::kNull));
  std::filesystem::remove(file);
}

// A row whose arithmetic is wrong (neighbouring outputs swapped, a thread
// mapping bug; a scaling error would hide behind Gemma 3's post-norms)
// fails the model gate.
std::vector<float> Swapped(const kn::WeightView& w, std::span<const float> x, int64_t m) {
  std::vector<float> y = kn::EmulateFloatActivations(w, x, m);
  for (size_t i = 0; i + 1 < y.size(); i += 2) std::swap(y[i], y[i + 1]);
  return y;
}

BOOST_AUTO_TEST_CASE(a_row_with_wrong_arithmetic_fails_and_a_tiny_budget_is_reported) {
  const std::string file = SyntheticModelFile("gate_bad");
  kn::GemvVariant broken = *kn::FindGemvVariant(kn::GemvOp::kQ4K, "Mwv");
  broken.emulate = &Swapped;
  DispatchTable t;
  t.q4k = "Broken";
  t.q6k = "Mwv";
  t.mwv_warps = 3;
  t.gemv[0] = &broken;
  t.gemv[1] = kn::FindGemvVariant(kn::GemvOp::kQ6K, "Mwv");
  ModelGateOptions o;
  o.path = file;
  o.budget_ms = 600000;
  auto report = RunModelGate(o, t, /*gpu=*/false);
  BOOST_REQUIRE_MESSAGE(report.ok(), syn::Why(report));
  BOOST_TEST((report->results[0].status == ModelGateResult::kFailed), report->results[0].ToString());
  BOOST_TEST(report->results[0].min_cosine < kModelGateMinCosine, report->results[0].ToString());
  BOOST_TEST(report->positions == o.min_positions);  // a failure is not measured further
  BOOST_TEST((report->results[1].status == ModelGateResult::kPassed), report->results[1].ToString());

  // A budget the minimum cannot fit: the figures are still there, marked.
  t.gemv[0] = kn::FindGemvVariant(kn::GemvOp::kQ4K, "Mwv");
  t.q4k = "Mwv";
  o.budget_ms = 1;
  auto tight = RunModelGate(o, t, false);
  BOOST_REQUIRE_MESSAGE(tight.ok(), syn::Why(tight));
  BOOST_TEST(tight->positions == o.min_positions);
  for (const ModelGateResult& r : tight->results) {
    BOOST_TEST((r.status == ModelGateResult::kBudgetExceeded), r.ToString());
    BOOST_TEST(r.positions == o.min_positions);
  }
  BOOST_TEST(tight->elapsed_ms > 1.0);
  std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(budget_exceeded_is_reported_or_fatal_as_the_policy_says) {
  const std::string file = SyntheticModelFile("gate_budget");
  CpuStart s;
  s.options.gate_model_path = file;
  s.options.gate_model_budget_ms = 1;
  auto rt = Runtime::Start(s.options);
  BOOST_REQUIRE_MESSAGE(rt.ok(), syn::Why(rt));
  BOOST_TEST((*rt)->log_line().find("\"status\":\"budget exceeded\"") != std::string::npos, (*rt)->log_line());
  BOOST_TEST((*rt)->fallbacks().empty());

  const std::string strict = (std::filesystem::path(file).parent_path() / "strict-gate.yaml").string();
  std::ofstream(strict) << "kpolicy: 1\nname: strict\nversion: 1\nextends: builtin:default\non_gate_failure: fatal\n";
  s.options.policy_path = strict;
  auto fatal = Runtime::Start(s.options);
  BOOST_REQUIRE(!fatal.ok());
  BOOST_TEST((fatal.error().code == ErrorCode::kCheckFailed));
  BOOST_TEST(fatal.error().message.find("budget exceeded") != std::string::npos, fatal.error().message);
  BOOST_TEST(fatal.error().message.find("on_gate_failure: fatal") != std::string::npos, fatal.error().message);
  std::filesystem::remove(strict);
  std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(a_bad_budget_or_a_missing_model_stops_startup) {
  CpuStart s;
  s.options.environment->Set("KPOLICY_GATE_MODEL", "no-such-model.gguf");
  s.options.environment->Set("KPOLICY_GATE_MODEL_BUDGET_MS", "20s");
  auto bad_budget = Runtime::Start(s.options);
  BOOST_REQUIRE(!bad_budget.ok());
  BOOST_TEST(bad_budget.error().message.find("KPOLICY_GATE_MODEL_BUDGET_MS='20s'") == 0u, bad_budget.error().message);
  s.options.environment->Set("KPOLICY_GATE_MODEL_BUDGET_MS", "20000");
  auto missing = Runtime::Start(s.options);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message.find("model gate: ") == 0u, missing.error().message);
  BOOST_TEST(missing.error().ToString().find("no-such-model.gguf") != std::string::npos, missing.error().ToString());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy::runtime
