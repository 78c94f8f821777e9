// Policy lint: findings about a policy that loads (so is valid) but says
// something it cannot mean. Loading already refuses what a glance at one rule
// shows (a rule after an always-true one, a constant-false condition); lint
// finds what only the whole input space shows, by evaluating the policy with
// the engine itself (evaluator.h) at every point of a finite space:
//
//   compute capability  every MAJOR.MINOR with MAJOR 1..15, MINOR 0..9
//   other device and    for each one the analysed knob reads (transitively,
//   model facts         through facts and knobs): a base value (SMs 8, the
//                       seed's fallback; 0 or "" = unknown elsewhere), each
//                       literal the policy compares it with directly or
//                       through int()/version() (ints also -1 and +1,
//                       versions also one step below and above), and for
//                       strings one value equal to no literal
//   catalog devices     every entry of the built-in catalog (device_catalog.h)
//                       with its real SMs, name, memory and bandwidth
//   recorded devices    each parity record's device and model, when records
//                       are given
//   environment         for each variable read: unset, each literal it is
//                       compared with (through int(): -1, +1 too), and one
//                       value equal to none ("1", or the next free integer)
//
// so "never fires" means: at no point of this space. Facts compared only
// after arithmetic (`device.memory_mib / 1024 >= 80`) vary over the base
// value and the catalog's devices alone. Each knob's rules, its overrides and
// its values are enumerated over the dimensions they read and no others, so
// the cost is the product of those dimensions' sizes; a knob whose space is
// larger than LintOptions::max_points is not enumerated, and says so. All
// analyses of one policy spend from one evaluation budget
// (evaluation_budget.h); once it is spent, the analysis under way and those
// after it make no finding but one saying that they did not finish.
//
// Thread-safety: pure function.
#ifndef KPOLICY_POLICY_LINT_H_
#define KPOLICY_POLICY_LINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kpolicy/contract.h"
#include "kpolicy/limits.h"
#include "kpolicy/error.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy.h"

namespace kpolicy {

struct LintFinding {
  enum Kind {
    kDeadRule,             // its condition never holds, or (evidence rules) records never prove it
    kShadowedRule,         // its condition holds only where earlier rules decide first
    kUnreachableOverride,  // an env override that is never taken
    kUnusedFact,           // a derived fact nothing reads
    kUncoveredValue,       // a value no record has figures for on any catalog device choosing it
    kFallbackBreaksContract,  // the fallback breaks the contract the value it replaces breaks
    kNotEnumerated,        // the knob's input space is over the limit: not analysed
  } kind = kDeadRule;
  SourceLocation location;
  std::string message;
};

// "dead-rule", "shadowed-rule", "unreachable-override", "unused-fact",
// "uncovered-value", "fallback-breaks-contract", "not-enumerated".
const char* LintKindName(LintFinding::Kind kind);

struct LintOptions {
  // Contracts and parity records (as `policyctl check` reads them). Without
  // them rules that ask for evidence are judged on their condition alone,
  // and the value and fallback checks are not made.
  const std::vector<Contract>* contracts = nullptr;
  const std::vector<ParityRecord>* records = nullptr;
  // Points (device x environment) one analysis may evaluate. One evaluation
  // of policies/default.yaml costs 6-10 us on an idle core (policyctl lint
  // --stats: 3,745 in 24-38 ms; several times that on a loaded machine), so
  // 100,000 bounds one analysis to about a second; default.yaml's largest
  // analysis has 1,536 points (--stats says).
  size_t max_points = limits::kLintPoints;
  // Expressions one analysis may evaluate: its points times the policy's
  // expressions (and the rules or overrides it checks at each point). The
  // point limit alone lets a policy of 4,000 rules cost minutes.
  size_t max_expression_evaluations = limits::kLintExpressionEvaluations;
  // The evaluation work of every analysis of one policy together
  // (evaluation_budget.h): a policy of 80 knobs, each with an analysis
  // within the limits above, would otherwise cost 80 of them.
  uint64_t max_evaluation_units = limits::kEvaluationUnits;
};

struct LintReport {
  std::vector<LintFinding> findings;  // sorted by place
  size_t evaluations = 0;             // policy evaluations made
  size_t largest_analysis = 0;        // points of the largest analysis made
};

LintReport LintPolicy(const Policy& policy, const LintOptions& options = {});

}  // namespace kpolicy

#endif  // KPOLICY_POLICY_LINT_H_
