// Policy cases: operators' own tests of a policy, kept in YAML next to it
// (`policyctl test`). A case names a device (a catalog key) or gives facts,
// an environment, and the values (and, optionally, the deciding rule) it
// expects for some knobs; running it evaluates the policy with the engine
// and says what differed. Coverage says which rules, overrides and defaults
// of the policy no case exercised. Format: policies/README.md, "Tests".
//
//   kpolicy_test: 1
//   policy: ../default.yaml          # optional, relative to this file
//   contracts: ../../contracts       # optional: records for evidence rules
//   cases:
//     - name: GB10 takes Mwv
//       device: gb10                 # or facts: {cc: "12.1", sms: 48, ...}
//       env: {FP8_PREFILL: "0"}
//       assume_proven: [FALSIFY-CPU-GPU-008]   # optional
//       expect:
//         q4k: Mwv
//         prefill_path: {value: serial, rule: sm12x-serial}
//
// Thread-safety: pure functions; the results are value types.
#ifndef KPOLICY_POLICY_CASES_H_
#define KPOLICY_POLICY_CASES_H_

#include <optional>
#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/diagnostic.h"
#include "kpolicy/environment.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/policy.h"

namespace kpolicy {

struct CaseExpectation {
  std::string knob;
  std::optional<std::string> value;  // as written; checked against the knob's type
  std::optional<std::string> rule;   // a rule id, "env:VAR" or "default"
  SourceLocation location;           // of the knob's key
  SourceLocation value_location, rule_location;
};

struct PolicyCase {
  std::string name;
  SourceLocation location;
  DeviceFacts device;
  ModelFacts model;
  Environment env;  // exactly this: never the process's
  std::vector<std::string> assume_proven;  // contracts taken as proven for this case
  std::vector<CaseExpectation> expect;
};

struct CaseFile {
  std::string file;
  std::string policy;     // resolved against the file's folder; "" when not named
  std::string contracts;  // likewise
  std::vector<PolicyCase> cases;
};

// Reads and checks the file's shape: keys (with "did you mean"), catalog
// devices, fact types. Every error as FILE:LINE:COL.
Checked<CaseFile> LoadCaseFile(const std::string& path);

// Checks the expectations against `policy`: each knob exists, each value is
// of its type, each rule names one of its rules or overrides.
Diagnostics CheckCases(const CaseFile& file, const Policy& policy);

// What decided a knob, as expectations write it: a rule's id, "env:VAR",
// "default", or "pinned".
std::string DeciderName(const Knob& knob, const KnobTrace& trace);

struct CaseMismatch {
  std::string knob;
  std::string expected, got;            // values; empty when the value was not expected
  std::string expected_rule, got_rule;  // empty when the rule was not expected
  SourceLocation location;              // of the expectation
};

struct CaseResult {
  bool passed = false;
  std::string error;  // the evaluation failed (the policy's error message)
  std::vector<CaseMismatch> mismatches;
};

// Evaluates `c` on `policy`. `records` (may be null) answers for rules asking
// for evidence, except for the contracts the case assumes proven.
// `decision` receives the evaluation for coverage, when it succeeds. With
// a budget the evaluation spends from it (evaluator.h).
CaseResult RunCase(const Policy& policy, const PolicyCase& c, const EvidenceOracle* records,
                   std::optional<Decision>* decision = nullptr, EvaluationBudget* budget = nullptr);

// Which rules, overrides and defaults of one policy the cases exercised
// (decided a knob).
class Coverage {
 public:
  explicit Coverage(const Policy& policy);
  void Add(const Decision& decision);

  struct Item {
    std::string knob;
    std::string what;  // "rule 'dp4a'", "override HW_DP4A_Q4K", "default"
    SourceLocation location;
    bool exercised = false;
  };
  const std::vector<Item>& items() const { return items_; }
  // Counts per kind: rules, overrides, defaults.
  struct Count {
    int exercised = 0, total = 0;
  };
  Count rules() const { return CountOf(kRule); }
  Count overrides() const { return CountOf(kOverride); }
  Count defaults() const { return CountOf(kDefault); }

 private:
  enum ItemKind { kRule, kOverride, kDefault };
  Count CountOf(ItemKind kind) const;

  const Policy& policy_;
  std::vector<Item> items_;
  std::vector<ItemKind> kinds_;
  std::vector<std::vector<int>> rule_item_, env_item_;  // per knob: item index per rule / override
  std::vector<int> default_item_;                       // per knob
};

}  // namespace kpolicy

#endif  // KPOLICY_POLICY_CASES_H_
