// Evaluation: a compiled Policy + device facts + environment -> Decision.
//
// Order: derived facts and knobs in dependency order; per knob, its env
// overrides in order (first that applies wins), then its rules in order
// (first whose `when` holds wins), then its default. Only the variables the
// policy declares are read from the Environment.
//
// Cost: one pass over the compiled expressions; no allocation beyond the
// Decision itself and string values. Thread-safety: pure function.
#ifndef KPOLICY_EVALUATOR_H_
#define KPOLICY_EVALUATOR_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/environment.h"
#include "kpolicy/evaluation_budget.h"
#include "kpolicy/expected.h"

namespace kpolicy {

// A knob value fixed from outside the rules (the runtime's parity gate
// switching a knob to its fallback). Knobs that read it are evaluated
// against the pinned value.
struct Pin {
  std::string knob;
  Value value;
  std::string reason;
};

// Answers whether recorded evidence proves a contract for one knob value on
// a device and model (contract_check.h's RecordEvidence reads the records).
// Thread-safety: Prove is const and must be safe to call concurrently.
class EvidenceOracle {
 public:
  struct Answer {
    bool proven = false;
    std::string citation;  // the record that proves it, or why none does
  };
  virtual ~EvidenceOracle() = default;
  virtual Answer Prove(const std::string& contract, const std::string& knob, const std::string& value,
                       const DeviceFacts& device, const ModelFacts& model) const = 0;
  // What one Prove costs, in evaluation-budget units (evaluation_budget.h).
  virtual uint64_t ProveUnits() const { return 1; }
};

// A rule, fact or default that could not be computed (division by zero, a
// value outside the knob's range) fails the whole evaluation with an Error
// (kInvalidInput): the policy is wrong for this device, and no decision is
// made rather than a guess. The error's place is the expression that failed
// (the rule or knob for a value outside the range); its message names the
// fact, rule or knob.
Expected<Decision> Evaluate(const Policy& policy, const DeviceFacts& device, const Environment& env,
                            std::span<const Pin> pins = {});
// The same, for a known model (`model.*` facts); the overload above leaves
// them unknown. Rules that ask for evidence fire only where `evidence`
// proves it; without an oracle they never fire (explain says why). With a
// budget, the work is spent from it; once it is spent the evaluation fails
// (budget->spent() tells that failure from the policy's own).
Expected<Decision> Evaluate(const Policy& policy, const DeviceFacts& device, const ModelFacts& model,
                            const Environment& env, std::span<const Pin> pins = {},
                            const EvidenceOracle* evidence = nullptr, EvaluationBudget* budget = nullptr);

// Set variables the policy does not read but that look like misspellings of
// ones it does (HW_DP4A_Q4 for HW_DP4A_Q4K), as warnings.
std::vector<std::string> FindMisspeltVariables(const Policy& policy, const Environment& env);

}  // namespace kpolicy

#endif  // KPOLICY_EVALUATOR_H_
