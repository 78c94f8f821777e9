// policyctl test and the engine's policy cases: the committed cases of the
// default policy pass and cover it, failing cases name their place and what
// differed, bad input is exit 2 with FILE:LINE:COL, and coverage counts.
#define BOOST_TEST_MODULE policy_cases
#include <boost/test/unit_test.hpp>

#include "commands.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_cases.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy::tools {
namespace {

std::string Source(const std::string& relative) { return std::string(KPOLICY_SOURCE_DIR) + "/" + relative; }
std::string Data(const std::string& name) { return Source("tests/lint/data/" + name); }

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON (" + v.error().message + "): " + text.substr(0, 200));
  return std::move(v).value();
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

BOOST_AUTO_TEST_CASE(default_cases_pass_and_cover_every_rule) {
  const CapturedRun run = RunPolicyctlCaptured({"test", Source("policies/tests/default_test.yaml")});
  BOOST_TEST(run.status == 0, run.out + run.err);
  BOOST_TEST(Has(run.out, "test: 17 cases, 17 passed, 0 failed"), run.out);
  BOOST_TEST(Has(run.out, "rules 5/5, overrides 20/20, defaults 11/11"), run.out);
  BOOST_TEST(!Has(run.out, "not exercised"), run.out);
}

BOOST_AUTO_TEST_CASE(failing_cases_name_their_place_and_what_differed) {
  const std::string file = Data("failing_cases.yaml");
  const CapturedRun run = RunPolicyctlCaptured({"test", file});
  BOOST_TEST(run.status == 1);
  BOOST_TEST(Has(run.out, "  ok    passes\n"), run.out);
  BOOST_TEST(Has(run.out, "FAIL  " + file + ":8:5: wrong value"), run.out);
  BOOST_TEST(Has(run.out, file + ":11:7: q4k: expected HwDp4a, got Mwv"), run.out);
  BOOST_TEST(Has(run.out, "FAIL  " + file + ":12:5: wrong rule"), run.out);
  BOOST_TEST(Has(run.out, file + ":16:7: fp8_prefill decided by: expected fp8-tensor-cores, got env:FP8_PREFILL"), run.out);
  BOOST_TEST(Has(run.out, "test: 3 cases, 1 passed, 2 failed"), run.out);
  // Coverage: the default's dp4a-proven was not exercised, at its place.
  BOOST_TEST(Has(run.out, "policies/default.yaml:58:9: not exercised: rule 'dp4a-proven' of knob 'q4k'"), run.out);
}

BOOST_AUTO_TEST_CASE(json_output) {
  const CapturedRun run = RunPolicyctlCaptured({"test", "--format", "json", Data("failing_cases.yaml")});
  BOOST_TEST(run.status == 1);
  const JsonValue v = MustParse(run.out);
  BOOST_TEST(v.Find("passed")->text == "1");
  BOOST_TEST(v.Find("failed")->text == "2");
  const JsonValue& cases = *v.Find("files")->items[0].Find("cases");
  BOOST_TEST_REQUIRE(cases.items.size() == 3u);
  BOOST_TEST(cases.items[0].Find("passed")->boolean);
  const JsonValue& wrong = cases.items[1];
  BOOST_TEST(!wrong.Find("passed")->boolean);
  BOOST_TEST(wrong.Find("line")->text == "8");
  const JsonValue& m = wrong.Find("mismatches")->items.at(0);
  BOOST_TEST(m.Find("knob")->text == "q4k");
  BOOST_TEST(m.Find("expected")->text == "HwDp4a");
  BOOST_TEST(m.Find("got")->text == "Mwv");
  const JsonValue& rule = cases.items[2].Find("mismatches")->items.at(0);
  BOOST_TEST(rule.Find("expected_rule")->text == "fp8-tensor-cores");
  BOOST_TEST(rule.Find("got_rule")->text == "env:FP8_PREFILL");
  const JsonValue& coverage = v.Find("coverage")->items.at(0);
  BOOST_TEST(coverage.Find("rules")->Find("exercised")->text == "4");
  BOOST_TEST(coverage.Find("rules")->Find("total")->text == "5");
}

BOOST_AUTO_TEST_CASE(unknown_knob_value_and_rule_are_bad_input) {
  const std::string file = Data("bad_knob.yaml");
  const CapturedRun run = RunPolicyctlCaptured({"test", file});
  BOOST_TEST(run.status == 2);
  BOOST_TEST(Has(run.err, file + ":6:7: error: policy default has no knob 'q4K' (did you mean 'q4k'?)"), run.err);
  BOOST_TEST(Has(run.err, file + ":7:12: error: 'Foo' is not a value of knob 'q6k'"), run.err);
  BOOST_TEST(Has(run.err, file + ":8:28: error: knob 'prefill_path' has no rule 'sm12x'"), run.err);
  BOOST_TEST(run.out.empty(), run.out);  // nothing ran
}

BOOST_AUTO_TEST_CASE(unknown_device_and_malformed_yaml_are_bad_input) {
  const CapturedRun device = RunPolicyctlCaptured({"test", Data("bad_device.yaml")});
  BOOST_TEST(device.status == 2);
  BOOST_TEST(Has(device.err, Data("bad_device.yaml") + ":4:13: error: unknown device 'h1000'"), device.err);
  const CapturedRun yaml = RunPolicyctlCaptured({"test", Data("bad_yaml.yaml")});
  BOOST_TEST(yaml.status == 2);
  BOOST_TEST(Has(yaml.err, Data("bad_yaml.yaml") + ":"), yaml.err);
  BOOST_TEST(RunPolicyctlCaptured({"test", Data("no-such-file.yaml")}).status == 2);
  BOOST_TEST(RunPolicyctlCaptured({"test"}).status == 2);
  // One bad file among good ones: nothing runs.
  const CapturedRun mixed = RunPolicyctlCaptured({"test", Source("policies/tests/default_test.yaml"), Data("bad_device.yaml")});
  BOOST_TEST(mixed.status == 2);
  BOOST_TEST(mixed.out.empty());
}

BOOST_AUTO_TEST_CASE(policy_flag_replaces_the_files_policy) {
  // The seed takes HwDp4a on the H100 where the default takes Mwv.
  const CapturedRun run = RunPolicyctlCaptured({"test", "--policy", "builtin:seed", Data("failing_cases.yaml")});
  BOOST_TEST(run.status == 1);
  BOOST_TEST(Has(run.out, "against seed"), run.out);
  BOOST_TEST(Has(run.out, "q4k: expected Mwv, got HwDp4a"), run.out);
}

BOOST_AUTO_TEST_CASE(engine_runs_cases_with_assumed_evidence_and_counts_coverage) {
  auto file = LoadCaseFile(Source("policies/tests/default_test.yaml"));
  BOOST_TEST_REQUIRE(file.ok());
  auto policy = LoadPolicyFile(file->policy);
  BOOST_TEST_REQUIRE(policy.ok());
  BOOST_TEST(!CheckCases(*file, *policy).has_errors());
  Coverage coverage(*policy);
  for (const PolicyCase& c : file->cases) {
    std::optional<Decision> decision;
    // No records: evidence comes only from assume_proven, and the cases that
    // rely on the records' failures still pass (nothing proves HwDp4a).
    const CaseResult r = RunCase(*policy, c, nullptr, &decision);
    BOOST_TEST(r.passed, c.name);
    if (decision) coverage.Add(*decision);
  }
  BOOST_TEST(coverage.rules().exercised == 5);
  BOOST_TEST(coverage.overrides().total == 20);
  BOOST_TEST(coverage.overrides().exercised == 20);
}

}  // namespace
}  // namespace kpolicy::tools
