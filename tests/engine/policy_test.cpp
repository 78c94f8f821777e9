// The policy language as a specification: loading, dependency order, env
// overrides, rules, overlays (extends), traces and warnings.
#define BOOST_TEST_MODULE policy
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/limits.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

Policy MustLoad(const std::string& text, const std::string& name = "test.yaml") {
  auto p = LoadPolicyText(text, name);
  if (!p.ok()) BOOST_FAIL("policy does not load:\n" + p.error().ToString());
  return std::move(p).value();
}

Policy MustLoadFile(const std::string& path) {
  auto p = LoadPolicyFile(path);
  if (!p.ok()) BOOST_FAIL("policy does not load:\n" + p.error().ToString());
  return std::move(p).value();
}

Decision MustEvaluate(const Policy& p, const DeviceFacts& d, const Environment& env = {}) {
  auto decision = Evaluate(p, d, env);
  if (!decision.ok()) BOOST_FAIL("evaluation failed: " + decision.error().ToString());
  return std::move(decision).value();
}

DeviceFacts Cc(int major, int minor, int sms = 16) {
  return DeviceFromComputeCapability(major, minor, sms, "test");
}

std::string Value(const Decision& d, const std::string& knob) {
  return d.ValueText(*d.policy->FindKnob(knob));
}

Environment Env(std::initializer_list<std::pair<const char*, const char*>> vars) {
  Environment e;
  for (auto [k, v] : vars) e.Set(k, v);
  return e;
}

// A temporary folder removed at the end of a test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-test-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

const char* kSmall = R"(kpolicy: 1
name: small
version: 1.0
facts:
  big: device.num_sms >= 100
knobs:
  threads:
    type: {int: [32, 1024]}
    env:
      - {var: THREADS, value: int(THREADS)}
    rules:
      - {id: big-gpu, when: big, value: 256}
      - {id: mid-gpu, when: device.num_sms >= 40, value: 128}
    default: 64
  kernel:
    type: {enum: [Small, Large]}
    env:
      - {var: KERNEL_LARGE, value: Large}
    rules:
      - {id: by-threads, when: threads >= 128, value: Large}
    default: Small
)";

// Decisions point at their policy, so tests keep this one alive.
const Policy& SmallPolicy() {
  static const Policy p = MustLoad(kSmall);
  return p;
}

BOOST_AUTO_TEST_SUITE(rules_and_defaults)

BOOST_AUTO_TEST_CASE(first_matching_rule_wins_and_the_trace_says_which) {
  const Policy p = MustLoad(kSmall);
  const Decision d = MustEvaluate(p, Cc(9, 0, 132));
  BOOST_TEST(Value(d, "threads") == "256");
  const KnobTrace& t = d.knobs[0];
  BOOST_TEST(t.decided_by == KnobTrace::kRule);
  BOOST_TEST(t.index == 0);
  BOOST_TEST(t.rules_tried() == 0);
}

BOOST_AUTO_TEST_CASE(later_rule_after_earlier_ones_fail) {
  const Decision d = MustEvaluate(SmallPolicy(), Cc(8, 6, 72));
  BOOST_TEST(Value(d, "threads") == "128");
  BOOST_TEST(d.knobs[0].index == 1);
  BOOST_TEST(d.knobs[0].rules_tried() == 1);
}

BOOST_AUTO_TEST_CASE(default_when_no_rule_matches) {
  const Decision d = MustEvaluate(SmallPolicy(), Cc(8, 7, 16));
  BOOST_TEST(Value(d, "threads") == "64");
  BOOST_TEST(d.knobs[0].decided_by == KnobTrace::kDefault);
  BOOST_TEST(d.knobs[0].rules_tried() == 2);
  BOOST_TEST(Value(d, "kernel") == "Small");
}

BOOST_AUTO_TEST_CASE(a_knob_reads_a_knob_decided_before_it) {
  const Decision d = MustEvaluate(SmallPolicy(), Cc(8, 6, 72));
  BOOST_TEST(Value(d, "kernel") == "Large");
}

BOOST_AUTO_TEST_CASE(value_out_of_range_at_evaluation_is_an_error_not_a_guess) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: r
version: 1
knobs:
  warps:
    type: {int: [1, 32]}
    default: device.num_sms / 4
)");
  BOOST_TEST(Value(MustEvaluate(p, Cc(9, 0, 64)), "warps") == "16");
  auto bad = Evaluate(p, Cc(9, 0, 132), {});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.find("33 is outside int 1..32") != std::string::npos);
  BOOST_TEST(bad.error().place.line == 5);
}

BOOST_AUTO_TEST_CASE(division_by_zero_in_a_rule_names_the_rule) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: r
version: 1
knobs:
  x:
    type: bool
    rules:
      - {id: ratio, when: 100 / device.memory_mib > 1, value: true}
    default: false
)");
  auto bad = Evaluate(p, Cc(9, 0), {});  // memory unknown: 0
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.find("rule 'ratio'") != std::string::npos);
  BOOST_TEST(bad.error().message.find("division by zero") != std::string::npos);
  // The error stands where the failing operator does: the '/' of the
  // `when` of line 8 (which starts at column 27).
  BOOST_TEST(bad.error().place.line == 8);
  BOOST_TEST(bad.error().place.column == 31);
  BOOST_TEST((bad.error().code == ErrorCode::kInvalidInput));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dependency_order)

BOOST_AUTO_TEST_CASE(knobs_and_facts_may_be_declared_in_any_order) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: order
version: 1
facts:
  wide: narrow == false
  narrow: a < 4
knobs:
  b:
    type: int
    default: a * 2
  a:
    type: int
    default: device.cc_major
  c:
    type: bool
    default: wide && b > 10
)");
  // b reads a, so a is evaluated before b although declared after it.
  std::vector<std::string> order;
  for (const EvaluationStep& s : p.order) {
    order.push_back(s.kind == EvaluationStep::kFact ? p.facts[s.index].name : p.knobs[s.index].name);
  }
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  BOOST_TEST(pos("a") < pos("b"));
  BOOST_TEST(pos("a") < pos("narrow"));
  BOOST_TEST(pos("narrow") < pos("wide"));
  BOOST_TEST(pos("wide") < pos("c"));
  BOOST_TEST(pos("b") < pos("c"));
  const Decision d = MustEvaluate(p, Cc(9, 0));
  BOOST_TEST(Value(d, "b") == "18");
  BOOST_TEST(Value(d, "c") == "true");
  // Outputs keep declaration order whatever the evaluation order.
  BOOST_TEST(p.knobs[0].name == "b");
}

BOOST_AUTO_TEST_CASE(a_cycle_is_rejected_with_its_path) {
  auto p = LoadPolicyText(R"(kpolicy: 1
name: cycle
version: 1
knobs:
  a:
    type: bool
    default: c
  b:
    type: bool
    default: a
  c:
    type: bool
    default: b
)", "cycle.yaml");
  BOOST_REQUIRE(!p.ok());
  const std::string text = p.error().ToString();
  BOOST_TEST(text.find("dependency cycle: a -> c -> b -> a") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(environment_overrides)

BOOST_AUTO_TEST_CASE(override_beats_rules_and_is_traced) {
  const Decision d = MustEvaluate(SmallPolicy(), Cc(9, 0, 132), Env({{"THREADS", "512"}}));
  BOOST_TEST(Value(d, "threads") == "512");
  BOOST_TEST(d.knobs[0].decided_by == KnobTrace::kEnv);
  BOOST_TEST(d.knobs[0].env[0].outcome == EnvCheck::kApplied);
  BOOST_TEST(d.warnings.empty());
}

BOOST_AUTO_TEST_CASE(unusable_override_is_ignored_with_a_warning_and_rules_apply) {
  for (const char* bad : {"2048", "lots", "", "16"}) {  // 16 is below the range's 32
    const Decision d = MustEvaluate(SmallPolicy(), Cc(9, 0, 132), Env({{"THREADS", bad}}));
    BOOST_TEST(Value(d, "threads") == "256");
    BOOST_TEST(d.knobs[0].env[0].outcome == EnvCheck::kIgnored);
    BOOST_REQUIRE(d.warnings.size() == 1u);
    BOOST_TEST(d.warnings[0].find("THREADS=\"" + std::string(bad) + "\" ignored for threads") == 0u,
               d.warnings[0]);
  }
}

BOOST_AUTO_TEST_CASE(presence_only_variable_set_to_zero_still_fires_and_warns) {
  const Decision d = MustEvaluate(SmallPolicy(), Cc(8, 7, 16), Env({{"KERNEL_LARGE", "0"}}));
  BOOST_TEST(Value(d, "kernel") == "Large");
  BOOST_REQUIRE(d.warnings.size() == 1u);
  BOOST_TEST(d.warnings[0].find("counts as set") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(only_declared_variables_are_read) {
  const Policy p = MustLoad(kSmall);
  const std::vector<std::string> declared = p.EnvironmentVariables();
  BOOST_TEST(declared == (std::vector<std::string>{"THREADS", "KERNEL_LARGE"}), boost::test_tools::per_element());
  const Decision d = MustEvaluate(p, Cc(8, 7), Env({{"THREADS_", "512"}, {"kernel_large", "1"}}));
  BOOST_TEST(Value(d, "threads") == "64");
  BOOST_TEST(Value(d, "kernel") == "Small");
  const auto misspelt = FindMisspeltVariables(p, Env({{"THREADS_", "512"}, {"kernel_large", "1"}, {"HOME", "/"}}));
  BOOST_REQUIRE(misspelt.size() == 2u);
  BOOST_TEST(misspelt[0].find("did you mean THREADS?") != std::string::npos);
  BOOST_TEST(misspelt[1].find("did you mean KERNEL_LARGE?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(conditional_override_falls_through_when_its_value_does_not_match) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: c
version: 1
knobs:
  fp8:
    type: bool
    env:
      - {var: FP8, when: FP8 == "0", value: false}
      - {var: FP8, when: FP8 == "1", value: true}
    default: device.cc >= 89
)");
  BOOST_TEST(Value(MustEvaluate(p, Cc(9, 0), Env({{"FP8", "0"}})), "fp8") == "false");
  BOOST_TEST(Value(MustEvaluate(p, Cc(8, 0), Env({{"FP8", "1"}})), "fp8") == "true");
  const Decision yes = MustEvaluate(p, Cc(9, 0), Env({{"FP8", "yes"}}));
  BOOST_TEST(Value(yes, "fp8") == "true");
  BOOST_TEST(yes.knobs[0].env[0].outcome == EnvCheck::kConditionFalse);
  BOOST_TEST(yes.knobs[0].env[1].outcome == EnvCheck::kConditionFalse);
  BOOST_REQUIRE(yes.warnings.size() == 1u);
  BOOST_TEST(yes.warnings[0].find("has no effect") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_override_cut_short_by_the_budget_fails_the_evaluation) {
  // An override whose condition fails is ignored with a warning; one that
  // fails because the evaluation budget is spent must not be, or the next
  // override or a rule would decide in its place.
  const Policy p = MustLoad(R"(kpolicy: 1
name: t
version: 1.0
knobs:
  k:
    type: int
    env:
      - {var: A, when: A == "1" && A != "2" && A != "3", value: 1}
      - {var: B, value: 2}
    default: 3
)");
  const Environment env = Env({{"A", "1"}, {"B", "1"}});
  EvaluationBudget enough;
  auto full = Evaluate(p, Cc(9, 0), ModelFacts{}, env, {}, nullptr, &enough);
  BOOST_REQUIRE(full.ok());
  BOOST_TEST(Value(*full, "k") == "1");
  // The knob's trace (1 + its 2 overrides) and 4 of the 11 nodes of A's
  // condition: it stops inside the condition, and B's override does not
  // decide instead (nor the default: every node after the limit fails).
  EvaluationBudget tight(7);
  auto cut = Evaluate(p, Cc(9, 0), ModelFacts{}, env, {}, nullptr, &tight);
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(tight.spent());
  BOOST_TEST(cut.error().message.find("knob 'k'") == 0u, cut.error().message);
  BOOST_TEST(cut.error().message.find("stopped: the evaluation work passed the limit of 7 units") != std::string::npos,
             cut.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(overlays)

const char* kBase = R"(kpolicy: 1
name: base
version: 1
knobs:
  v:
    type: {enum: [A, B, C, D]}
    env:
      - {var: FORCE_A, value: A}
    rules:
      - {id: r1, when: device.cc >= 90, value: B}
      - {id: r2, when: device.cc >= 80, value: C}
    default: D
)";

BOOST_AUTO_TEST_CASE(rule_with_a_base_id_replaces_it_in_place) {
  TempDir dir;
  dir.Write("base.yaml", kBase);
  const std::string overlay = dir.Write("fleet/o.yaml", R"(kpolicy: 1
name: o
version: 2
extends: ../base.yaml
knobs:
  v:
    rules:
      - {id: r1, when: device.cc >= 100, value: B}
)");
  const Policy p = MustLoadFile(overlay);
  BOOST_TEST(p.name == "o");
  BOOST_TEST(p.bases.size() == 1u);
  const Knob& v = p.knobs[0];
  BOOST_REQUIRE(v.rules.size() == 2u);
  BOOST_TEST(v.rules[0].id == "r1");
  BOOST_TEST(v.rules[0].when.text() == "device.cc >= 100");
  BOOST_TEST(Value(MustEvaluate(p, Cc(9, 0)), "v") == "C");
  BOOST_TEST(v.env.size() == 1u);  // untouched
}

BOOST_AUTO_TEST_CASE(new_rules_go_first_or_where_before_and_after_say) {
  TempDir dir;
  dir.Write("base.yaml", kBase);
  const std::string overlay = dir.Write("o.yaml", R"(kpolicy: 1
name: o
version: 2
extends: base.yaml
knobs:
  v:
    rules:
      - {id: first, when: device.num_sms == 1, value: A}
      - {id: mid, after: r1, when: device.num_sms == 2, value: A}
      - {id: last-but-one, before: r2, when: device.num_sms == 3, value: A}
)");
  const Policy p = MustLoadFile(overlay);
  std::vector<std::string> ids;
  for (const Rule& r : p.knobs[0].rules) ids.push_back(r.id);
  BOOST_TEST(ids == (std::vector<std::string>{"first", "r1", "mid", "last-but-one", "r2"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(env_list_replaced_rules_removed_new_knob_added) {
  TempDir dir;
  dir.Write("base.yaml", kBase);
  const std::string overlay = dir.Write("o.yaml", R"(kpolicy: 1
name: o
version: 2
extends: base.yaml
knobs:
  v:
    env:
      - {var: FORCE_B, value: B}
    remove_rules: [r2]
    default: A
  w:
    type: bool
    default: v == A
)");
  const Policy p = MustLoadFile(overlay);
  BOOST_TEST(p.EnvironmentVariables() == std::vector<std::string>{"FORCE_B"}, boost::test_tools::per_element());
  const Decision d = MustEvaluate(p, Cc(8, 0), Env({{"FORCE_A", "1"}}));
  BOOST_TEST(Value(d, "v") == "A");  // r2 removed, new default; FORCE_A no longer read
  BOOST_TEST(d.knobs[0].decided_by == KnobTrace::kDefault);
  BOOST_TEST(Value(d, "w") == "true");
}

BOOST_AUTO_TEST_CASE(overlay_errors_point_into_the_overlay) {
  TempDir dir;
  dir.Write("base.yaml", kBase);
  const std::string overlay = dir.Write("o.yaml", R"(kpolicy: 1
name: o
version: 2
extends: base.yaml
knobs:
  v:
    type: bool
    remove_rules: [nope]
    rules:
      - {id: x, before: missing, when: true, value: A}
)");
  auto p = LoadPolicyFile(overlay);
  BOOST_REQUIRE(!p.ok());
  const std::string text = p.error().ToString();
  BOOST_TEST(text.find("o.yaml:7:11: error: an overlay cannot change the type of knob 'v'") != std::string::npos, text);
  BOOST_TEST(text.find("o.yaml:8:20: error: 'remove_rules': knob 'v' of the base has no rule 'nope'") != std::string::npos, text);
  BOOST_TEST(text.find("o.yaml:10:9: error: rule 'x' is placed before 'missing'") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(builtin_default_can_be_extended) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: fleet
version: 1
extends: builtin:default
knobs:
  mwv_warps:
    rules:
      - {id: small-gpu, when: device.num_sms <= 16, value: 2}
)", "fleet.yaml");
  BOOST_TEST(p.bases == std::vector<std::string>{"builtin:default"}, boost::test_tools::per_element());
  BOOST_TEST(Value(MustEvaluate(p, FindCatalogDevice("jetson-orin")->ToFacts()), "mwv_warps") == "2");
  BOOST_TEST(Value(MustEvaluate(p, FindCatalogDevice("h100")->ToFacts()), "mwv_warps") == "3");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shipped_policies)

// limits::kEvaluationUnits is derived so that a batch of limits::kBatchLines
// cases of the default policy fits it with room: this holds it to that.
// Every catalog device, with no variable set and with each declared one set
// to "1" (an override's condition and value evaluated too).
BOOST_AUTO_TEST_CASE(a_full_batch_of_default_cases_fits_the_evaluation_budget) {
  const Policy p = MustLoadFile(std::string(KPOLICY_SOURCE_DIR) + "/policies/default.yaml");
  std::vector<Environment> environments = {Environment()};
  for (const std::string& var : p.EnvironmentVariables()) environments.push_back(Env({{var.c_str(), "1"}}));
  uint64_t most = 0, total = 0, evaluations = 0;
  for (const CatalogEntry& device : DeviceCatalog()) {
    for (const Environment& env : environments) {
      EvaluationBudget budget;
      BOOST_REQUIRE(Evaluate(p, device.ToFacts(), ModelFacts{}, env, {}, nullptr, &budget).ok());
      most = std::max(most, budget.units_spent());
      total += budget.units_spent();
      ++evaluations;
    }
  }
  BOOST_TEST_MESSAGE("default.yaml: " << most << " units at most, " << total / evaluations << " on average, over "
                                      << evaluations << " evaluations");
  BOOST_TEST(most * limits::kBatchLines * 2 <= limits::kEvaluationUnits,
             "a batch of " << limits::kBatchLines << " cases at " << most << " units each leaves less than half of "
                           << limits::kEvaluationUnits);
}

// Every file in policies/ loads; the fleet overlays decide what they claim.
BOOST_AUTO_TEST_CASE(every_shipped_policy_loads) {
  int count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(KPOLICY_SOURCE_DIR) + "/policies")) {
    // policies/tests/ holds operators' cases for `policyctl test`, not policies.
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".yaml" || path.find("/schema/") != std::string::npos ||
        path.find("/policies/tests/") != std::string::npos) {
      continue;
    }
    auto p = LoadPolicyFile(entry.path().string());
    if (!p.ok()) BOOST_ERROR(entry.path().string() << "\n" << p.error().ToString());
    ++count;
  }
  BOOST_TEST(count >= 3);
}

BOOST_AUTO_TEST_CASE(locked_kernels_fleet_ignores_variant_variables) {
  const Policy p = MustLoadFile(std::string(KPOLICY_SOURCE_DIR) + "/policies/fleets/locked-kernels.yaml");
  const Decision d = MustEvaluate(p, FindCatalogDevice("h100")->ToFacts(),
                                  Env({{"HW_DP4A_Q4K", "1"}, {"WIDE_Q4K", "1"}, {"MWV_WARPS", "8"}, {"FP8_PREFILL", "0"}}));
  BOOST_TEST(Value(d, "q4k") == "Mwv");
  BOOST_TEST(Value(d, "mwv_warps") == "3");
  BOOST_TEST(Value(d, "fp8_prefill") == "false");  // still read
}

BOOST_AUTO_TEST_CASE(blackwell_fp8_guard_fleet) {
  const Policy p = MustLoadFile(std::string(KPOLICY_SOURCE_DIR) + "/policies/fleets/blackwell-fp8-guard.yaml");
  BOOST_TEST(Value(MustEvaluate(p, FindCatalogDevice("b200")->ToFacts()), "fp8_prefill") == "false");
  BOOST_TEST(Value(MustEvaluate(p, FindCatalogDevice("h100")->ToFacts()), "fp8_prefill") == "true");
  BOOST_TEST(Value(MustEvaluate(p, FindCatalogDevice("b200")->ToFacts(), Env({{"FP8_PREFILL", "1"}})),
                   "fp8_prefill") == "true");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(catalog)

BOOST_AUTO_TEST_CASE(holds_the_gpus_the_fleet_needs) {
  BOOST_TEST(DeviceCatalog().size() >= 14u);
  for (const char* key : {"k80", "t4", "a100", "h100", "h200", "l4", "jetson-orin", "b200", "rtx5090", "gb10"}) {
    BOOST_TEST(FindCatalogDevice(key).has_value(), key);
  }
  const DeviceFacts gb10 = FindCatalogDevice("GB10")->ToFacts();
  BOOST_TEST(gb10.cc() == 121);
  BOOST_TEST(gb10.num_sms == 48);
  BOOST_TEST(FindCatalogDevice("h100")->ToFacts().cc() == 90);
  BOOST_TEST(!FindCatalogDevice("h1000").has_value());
}

BOOST_AUTO_TEST_CASE(compute_capability_parsing) {
  BOOST_TEST(ParseComputeCapability("12.1").ok());
  BOOST_TEST(ParseComputeCapability("12.1")->first == 12);
  BOOST_TEST(!ParseComputeCapability("12").ok());
  BOOST_TEST(!ParseComputeCapability("9.10").ok());
  BOOST_TEST(!ParseComputeCapability("a.b").ok());
  BOOST_TEST(!ParseComputeCapability("0.5").ok());
  BOOST_TEST(!ParseComputeCapability("-1.0").ok());
}

BOOST_AUTO_TEST_CASE(unknown_sm_count_takes_the_seed_fallback_and_says_so) {
  const DeviceFacts d = DeviceFromComputeCapability(8, 9, -1, "--cc 8.9");
  BOOST_TEST(d.num_sms == kFallbackNumSms);
  BOOST_REQUIRE(d.fallbacks.size() == 1u);
  BOOST_TEST(d.fallbacks[0].find("assumed 8") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy
