// The GEMV variant table (kernels/gemv_variants.h) against the policy: the
// q4k and q6k enums of policies/default.yaml, read through the engine's
// loader, have exactly the table's rows; and a dummy row (a CPU emulation,
// no kernel) added to a copy of the table flows through everything that
// reads it (name lookup, dispatch binding, the gate's CPU side, the enum
// check) with nothing else changed. Needs no GPU.
#define BOOST_TEST_MODULE variant_table
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <vector>

#include "kpolicy/device.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/runtime/dispatch.h"
#include "kpolicy/runtime/kernel_catalog.h"
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {
namespace {

namespace kn = kpolicy::kernels;

const std::string kDefaultPolicy = std::string(KPOLICY_SOURCE_DIR) + "/policies/default.yaml";

Policy LoadDefault() {
  auto policy = LoadPolicyFile(kDefaultPolicy);
  BOOST_REQUIRE_MESSAGE(policy.ok(), kDefaultPolicy + " does not load");
  return std::move(policy).value();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

BOOST_AUTO_TEST_CASE(every_enum_value_has_a_row_and_every_row_a_value) {
  const Policy policy = LoadDefault();
  const std::vector<std::string> mismatches = GemvEnumMismatches(policy);
  for (const std::string& m : mismatches) BOOST_ERROR(m);
  // The same, spelled out per operation and in order: the table lists each
  // op's rows in the enum's order.
  for (const kn::GemvOp op : kn::kGemvOps) {
    const Knob* knob = policy.FindKnob(kn::GemvOpName(op));
    BOOST_REQUIRE(knob);
    std::vector<std::string> rows;
    for (const kn::GemvVariant* v : kn::GemvVariantsOf(op)) rows.emplace_back(v->name);
    BOOST_TEST(rows == knob->type.members, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(every_row_is_complete) {
  for (const kn::GemvVariant& v : kn::BuiltinGemvVariants()) {
    BOOST_TEST_CONTEXT(kn::GemvOpName(v.op) << " " << v.name) {
      BOOST_TEST(v.emulate != nullptr);
      BOOST_TEST(!v.mapping.empty());
      BOOST_TEST(v.min_cc >= kLowestKernelCc);
      // The DP4A rows emulate with the DP4A arithmetic, the others with the float path.
      const bool dp4a_emulation = v.emulate == &kn::EmulateDp4aQ8_1;
      BOOST_TEST(dp4a_emulation == v.quantizes_activations());
    }
  }
}

// ---- A dummy variant -------------------------------------------------------

// The dummy's arithmetic: the float path with lanes of 8 weights, the shape
// of a warp reduction, so that it differs from the built-in emulations.
std::vector<float> EmulateDummy(const kn::WeightView& weights, std::span<const float> x, int64_t m) {
  return kn::EmulateFloatPath(weights, x, m, {.lanes = 4, .chunk = 8});
}

std::vector<kn::GemvVariant> TableWithDummy() {
  std::vector<kn::GemvVariant> table(kn::BuiltinGemvVariants().begin(), kn::BuiltinGemvVariants().end());
  table.push_back({kn::GemvOp::kQ4K, "Dummy", kn::Arithmetic::kFloatActivations, 75, false,
                   "a test row: no kernel", /*launch=*/nullptr, &EmulateDummy});
  return table;
}

// default.yaml with Dummy added to q4k's enum and an override that selects it.
Policy PolicyWithDummy() {
  std::string text = ReadFile(kDefaultPolicy);
  const std::string members = "[Legacy, Wide, Vectorized, MwvDp4a, HwDp4a, Mwv]";
  const std::string override_line = "      - {var: MWV_Q4K, value: Mwv}\n";
  BOOST_REQUIRE(text.find(members) != std::string::npos && text.find(override_line) != std::string::npos);
  text.replace(text.find(members), members.size(), "[Legacy, Wide, Vectorized, MwvDp4a, HwDp4a, Mwv, Dummy]");
  text.insert(text.find(override_line) + override_line.size(), "      - {var: DUMMY_Q4K, value: Dummy}\n");
  auto policy = LoadPolicyText(text, "default-with-dummy.yaml");
  BOOST_REQUIRE_MESSAGE(policy.ok(), "the policy with a Dummy q4k does not load");
  return std::move(policy).value();
}

BOOST_AUTO_TEST_CASE(a_dummy_row_is_found_by_name_in_its_table_only) {
  const std::vector<kn::GemvVariant> table = TableWithDummy();
  const kn::GemvVariant* dummy = kn::FindGemvVariant(kn::GemvOp::kQ4K, "Dummy", table);
  BOOST_REQUIRE(dummy);
  BOOST_TEST(!dummy->built());
  BOOST_TEST(kn::FindGemvVariant(kn::GemvOp::kQ4K, "Dummy") == nullptr);
  BOOST_TEST(kn::FindGemvVariant(kn::GemvOp::kQ6K, "Dummy", table) == nullptr);
  BOOST_TEST(kn::GemvVariantNames(kn::GemvOp::kQ4K, table) == "Legacy, Wide, Vectorized, MwvDp4a, HwDp4a, Mwv, Dummy");
}

BOOST_AUTO_TEST_CASE(the_enum_check_reports_that_the_policy_lacks_the_dummy) {
  const std::vector<kn::GemvVariant> table = TableWithDummy();
  const std::vector<std::string> mismatches = GemvEnumMismatches(LoadDefault(), table);
  BOOST_REQUIRE(mismatches.size() == 1u);
  BOOST_TEST(mismatches[0] == "policy default: q4k enum has no value Dummy, which the variant table has");
  // A policy that names it agrees with the table, and not with the built-in one.
  BOOST_TEST(GemvEnumMismatches(PolicyWithDummy(), table).empty());
  const std::vector<std::string> builtin = GemvEnumMismatches(PolicyWithDummy());
  BOOST_REQUIRE(builtin.size() == 1u);
  BOOST_TEST(builtin[0].find("q4k enum value Dummy has no row in the variant table") != std::string::npos, builtin[0]);
}

BOOST_AUTO_TEST_CASE(dispatch_binds_the_dummy_and_its_emulation_passes_the_gates_cpu_side) {
  const std::vector<kn::GemvVariant> table = TableWithDummy();
  const Policy policy = PolicyWithDummy();
  Environment env;
  env.Set("DUMMY_Q4K", "1");
  auto decision = Evaluate(policy, DeviceFromComputeCapability(8, 0, 108, "test"), env);
  BOOST_REQUIRE(decision.ok());

  // The CPU path: bound to the table's row, whose emulation is what runs.
  auto cpu = BuildDispatch(*decision, Capabilities{false, 80, "no GPU"}, table);
  BOOST_REQUIRE_MESSAGE(cpu.ok(), (cpu.ok() ? std::string() : cpu.error().ToString()));
  BOOST_TEST(cpu->q4k == "Dummy");
  const kn::GemvVariant* bound = cpu->gemv_kernel(kn::GemvOp::kQ4K);
  BOOST_REQUIRE(bound);
  BOOST_TEST(bound->name == "Dummy");
  BOOST_TEST(bound->emulate == &EmulateDummy);

  // The gate's CPU side: the probe through the dummy's emulation is within
  // the float class's bound against fp64 (it is fp32 arithmetic); the DP4A
  // emulation's Q8_1 rounding on the same probe is far outside it.
  const GateProbe probe = MakeGateProbe(kn::WeightFormat::kQ4K);
  const GateBound bound_of_row = GateBoundFor(GateArithmeticOf(bound->arithmetic), probe);
  const std::vector<float> own = bound->emulate(probe.weights.view(), probe.x.values, probe.m);
  const GateResult pass = JudgeGateOutputs("q4k", "Dummy", "emulation", probe.reference, own, bound_of_row);
  BOOST_TEST(pass.passed, pass.ToString());
  BOOST_TEST(pass.relative_l2 > 0.0, "fp32 arithmetic is not exact");
  const std::vector<float> dp4a = kn::EmulateDp4aQ8_1(probe.weights.view(), probe.x.values, probe.m);
  const GateResult other = JudgeGateOutputs("q4k", "Dummy", "emulation", probe.reference, dp4a, bound_of_row);
  BOOST_TEST(!other.passed, other.ToString());
  // Running it needs a kernel: none, so the gate fails it saying why.
  const GateResult run = CheckGemvKernel("q4k", *bound, cpu->mwv_warps);
  BOOST_TEST(!run.passed);
  BOOST_TEST(!run.detail.empty());

  // On a GPU the row has no kernel to bind: a startup error naming it.
  auto gpu = BuildDispatch(*decision, Capabilities{true, 80, ""}, table);
  BOOST_REQUIRE(!gpu.ok());
  BOOST_TEST(gpu.error().message == "q4k = Dummy: this build has no kernel for it (not built)");
  // Without the row, the same decision names a variant the table lacks.
  auto builtin = BuildDispatch(*decision, Capabilities{false, 80, "no GPU"});
  BOOST_REQUIRE(!builtin.ok());
  BOOST_TEST(builtin.error().message.find("q4k = Dummy: no such kernel variant") == 0u, builtin.error().message);
}

}  // namespace
}  // namespace kpolicy::runtime
