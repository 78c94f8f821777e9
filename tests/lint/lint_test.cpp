// policyctl lint and the engine's LintPolicy: one planted finding of each
// kind at its place, the committed policies' results as they truly are, the
// exit statuses, and the cost of the enumeration.
#define BOOST_TEST_MODULE lint
#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "commands.h"
#include "time_budget.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract.h"
#include "kpolicy/json.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy_lint.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy::tools {
namespace {

std::string Source(const std::string& relative) { return std::string(KPOLICY_SOURCE_DIR) + "/" + relative; }
const std::string kPlanted = Source("tests/lint/data/planted.yaml");
const std::string kTestContracts = Source("tests/lint/data/contracts");
const std::string kContracts = Source("contracts");

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON (" + v.error().message + "): " + text.substr(0, 200));
  return std::move(v).value();
}

struct Found {
  std::string file, kind, message;
  int line = 0, col = 0;
};

// The findings of `policyctl lint --format json`.
std::vector<Found> LintJson(const std::vector<std::string>& files, const std::string& contracts, int expected_status = 0) {
  std::vector<std::string> args = {"lint", "--format", "json", "--contracts", contracts};
  args.insert(args.end(), files.begin(), files.end());
  const CapturedRun run = RunPolicyctlCaptured(args);
  BOOST_TEST_REQUIRE(run.status == expected_status, run.err);
  std::vector<Found> out;
  for (const JsonValue& f : MustParse(run.out).items) {
    out.push_back({f.Find("file")->text, f.Find("kind")->text, f.Find("message")->text,
                   std::stoi(f.Find("line")->text), std::stoi(f.Find("col")->text)});
  }
  return out;
}

// "LINE:COL KIND" per finding.
std::vector<std::string> Places(const std::vector<Found>& found) {
  std::vector<std::string> out;
  for (const Found& f : found) out.push_back(std::to_string(f.line) + ":" + std::to_string(f.col) + " " + f.kind);
  return out;
}

BOOST_AUTO_TEST_CASE(planted_findings_each_at_its_place) {
  const std::vector<Found> found = LintJson({kPlanted}, kTestContracts);
  const std::vector<std::string> expected = {
      "7:3 unused-fact",                // big_gpu
      "14:9 unreachable-override",      // WIDE_Q4K == "1" after WIDE_Q4K != "0"
      "15:9 unreachable-override",      // LEGACY_Q4K == "1" && == "2"
      "17:9 uncovered-value",           // Vectorized on the K80 only: no record
      "19:9 shadowed-rule",             // hopper after dp4a
      "20:9 dead-rule",                 // cc >= 160
      "22:15 fallback-breaks-contract",  // Legacy breaks TEST-PLAIN-Q4K as HwDp4a does
      "26:9 unreachable-override",      // int(WARPS) * 100 is never in 1..32
  };
  BOOST_TEST(Places(found) == expected, boost::test_tools::per_element());
  for (const Found& f : found) BOOST_TEST(f.file == kPlanted);
}

BOOST_AUTO_TEST_CASE(planted_messages_say_why) {
  const std::vector<Found> found = LintJson({kPlanted}, kTestContracts);
  BOOST_TEST_REQUIRE(found.size() == 8u);
  BOOST_TEST(found[1].message.find("wherever its condition 'WIDE_Q4K == \"1\"' holds, the overrides of MWV_Q4K (line 12) and WIDE_Q4K (line 13) apply first") != std::string::npos,
             found[1].message);
  BOOST_TEST(found[2].message.find("holds for none of the states") != std::string::npos, found[2].message);
  BOOST_TEST(found[3].message.find("Vectorized (from rule 'old') is chosen on 1 catalog device (k80)") != std::string::npos,
             found[3].message);
  BOOST_TEST(found[4].message.find("rule 'dp4a' (line 18) decides first") != std::string::npos, found[4].message);
  BOOST_TEST(found[5].message.find("holds nowhere in cc 1.0-15.9") != std::string::npos, found[5].message);
  BOOST_TEST(found[6].message.find("HwDp4a cosine 0.9 on plain") != std::string::npos, found[6].message);
  BOOST_TEST(found[6].message.find("Legacy cosine 0.8 on plain") != std::string::npos, found[6].message);
  BOOST_TEST(found[7].message.find("100 is outside int 1..32") != std::string::npos, found[7].message);
}

BOOST_AUTO_TEST_CASE(text_format_and_strict) {
  const CapturedRun plain = RunPolicyctlCaptured({"lint", "--contracts", kTestContracts, kPlanted});
  BOOST_TEST(plain.status == 0, plain.err);
  BOOST_TEST(plain.out.find(kPlanted + ":20:9: warning: rule 'future' of knob 'q4k' can never fire") != std::string::npos,
             plain.out);
  BOOST_TEST(plain.out.find("[dead-rule]\n") != std::string::npos, plain.out);
  BOOST_TEST(plain.out.find(kPlanted + ": 8 warnings\n") != std::string::npos, plain.out);
  const CapturedRun strict = RunPolicyctlCaptured({"lint", "--strict", "--contracts", kTestContracts, kPlanted});
  BOOST_TEST(strict.status == 1);
  BOOST_TEST(strict.err.find("--strict: 8 warnings") != std::string::npos, strict.err);
}

// The committed policies as they truly are. default.yaml's dp4a-proven can
// never fire with the committed records: every record that speaks for a
// DP4A device shows HwDp4a breaking FALSIFY-CPU-GPU-008 (GB10, RTX 4090/Ada,
// H200's model rows) and the H100 record has no model-level row.
BOOST_AUTO_TEST_CASE(default_policy_has_one_rule_the_records_never_prove) {
  const std::vector<Found> found = LintJson({Source("policies/default.yaml")}, kContracts);
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].kind == "dead-rule");
  BOOST_TEST(found[0].line == 58);
  BOOST_TEST(found[0].col == 9);
  BOOST_TEST(found[0].message.find("rule 'dp4a-proven' of knob 'q4k' never fires with the records given") !=
             std::string::npos, found[0].message);
}

BOOST_AUTO_TEST_CASE(seed_policy_is_clean) {
  BOOST_TEST(LintJson({Source("policies/compat/seed.yaml")}, kContracts).empty());
  BOOST_TEST(LintJson({"builtin:seed"}, kContracts).empty());
}

BOOST_AUTO_TEST_CASE(without_records_evidence_rules_are_judged_on_their_condition) {
  auto policy = LoadPolicyText(BuiltinDefaultPolicyText(), "default.yaml");
  BOOST_TEST_REQUIRE(policy.ok());
  BOOST_TEST(LintPolicy(*policy).findings.empty());
}

BOOST_AUTO_TEST_CASE(literals_of_other_facts_are_enumerated) {
  // Each rule fires only at a value no catalog device has (137 SMs, a
  // driver, a name, a model), which the enumeration takes from the literal.
  BOOST_TEST(LintJson({Source("tests/lint/data/enumerated.yaml")}, kTestContracts).empty());
}

BOOST_AUTO_TEST_CASE(enumeration_of_the_default_policy_is_fast) {
  auto policy = LoadPolicyText(BuiltinDefaultPolicyText(), "default.yaml");
  auto contracts = LoadContractDirectory(kContracts);
  auto records = LoadParityRecordDirectory(kContracts + "/parity");
  BOOST_TEST_REQUIRE((policy.ok() && contracts.ok() && records.ok()));
  LintOptions options;
  options.contracts = &*contracts;
  options.records = &*records;
  const auto start = std::chrono::steady_clock::now();
  const LintReport report = LintPolicy(*policy, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("default.yaml: " << report.evaluations << " evaluations in " << seconds * 1e3 << " ms");
  // About 3,700 evaluations at a few microseconds each: tens of ms on one
  // core; 1 s is the budget, with room for a loaded CI machine.
  BOOST_TEST(report.evaluations < 10000u);
  BOOST_TEST(seconds < kpolicy::testing::TimeBudget(1.0));
}

BOOST_AUTO_TEST_CASE(limit_on_points_is_reported_not_exceeded) {
  auto policy = LoadPolicyFile(kPlanted);
  BOOST_TEST_REQUIRE(policy.ok());
  LintOptions options;
  options.max_points = 10;
  const LintReport report = LintPolicy(*policy, options);
  BOOST_TEST(report.evaluations <= 10u * 4);  // each analysis stays under the limit
  bool reported = false;
  for (const LintFinding& f : report.findings) reported |= f.kind == LintFinding::kNotEnumerated;
  BOOST_TEST(reported);
}

BOOST_AUTO_TEST_CASE(spent_budget_stops_lint_with_one_finding_and_no_verdicts) {
  // The planted policy's findings need its whole space; with the budget
  // spent part-way, no analysis may claim "never" of points it did not
  // visit: the one finding is that lint stopped, and where.
  auto policy = LoadPolicyFile(kPlanted);
  BOOST_TEST_REQUIRE(policy.ok());
  const LintReport whole = LintPolicy(*policy, LintOptions{});
  LintOptions options;
  options.max_evaluation_units = 2000;
  const LintReport cut = LintPolicy(*policy, options);
  BOOST_TEST(whole.findings.size() > 1u);
  std::vector<LintFinding> stops;
  for (const LintFinding& f : cut.findings) {
    if (f.message.find("not finished: the evaluation work passed the limit of 2000 units") != std::string::npos) {
      stops.push_back(f);
    }
  }
  BOOST_TEST_REQUIRE(stops.size() == 1u);
  BOOST_TEST((stops[0].kind == LintFinding::kNotEnumerated));
  BOOST_TEST(cut.evaluations < whole.evaluations);
  // Whatever else it says was found by analyses that finished before the
  // budget ran out: each is a finding of the whole run too.
  for (const LintFinding& f : cut.findings) {
    if (f.message == stops[0].message) continue;
    const bool also_whole = std::any_of(whole.findings.begin(), whole.findings.end(), [&](const LintFinding& w) {
      return w.message == f.message && w.location.line == f.location.line;
    });
    BOOST_TEST(also_whole, f.message);
  }
}

BOOST_AUTO_TEST_CASE(exit_statuses_for_bad_input) {
  BOOST_TEST(RunPolicyctlCaptured({"lint", "--contracts", kTestContracts, "no-such-policy.yaml"}).status == 2);
  const CapturedRun invalid =
      RunPolicyctlCaptured({"lint", "--contracts", kTestContracts, Source("tests/lint/data/failing_cases.yaml")});
  BOOST_TEST(invalid.status == 1);  // not a policy: invalid, as validate says
  BOOST_TEST(invalid.err.find("failing_cases.yaml:") != std::string::npos, invalid.err);
  BOOST_TEST(RunPolicyctlCaptured({"lint", "--contracts", "no-such-folder", kPlanted}).status == 2);
  BOOST_TEST(RunPolicyctlCaptured({"lint"}).status == 2);
  BOOST_TEST(RunPolicyctlCaptured({"lint", "--format", "xml", kPlanted}).status == 2);
}

}  // namespace
}  // namespace kpolicy::tools
