// Explain: renderers of a Decision and its trace, for people (text) and for
// programs (JSON). Evaluation never formats anything; these two read the same
// trace, so what the text says and what the JSON says cannot drift apart.
//
// Thread-safety: pure functions.
#ifndef KPOLICY_EXPLAIN_H_
#define KPOLICY_EXPLAIN_H_

#include <map>
#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/json.h"

namespace kpolicy {

// One piece of recorded evidence about a knob's chosen value.
struct Evidence {
  enum Status { kMeets, kBreaks, kUnproven } status = kUnproven;
  std::string contract;  // FALSIFY-CPU-GPU-008
  std::string claim;     // "cosine 0.9939 on model-parity-gate, needs cosine >= 0.99"
  std::string source;    // "contracts/parity/gb10.yaml: reported 2026-06-16: ..."
  // kMeets and kBreaks: the figure behind the claim.
  std::string metric, workload, threshold;  // "cosine", "model-parity-gate", "cosine >= 0.99"
  double measured = 0;
};

struct ExplainOptions {
  bool color = false;                      // ANSI colours (a terminal)
  std::vector<std::string> extra_warnings;  // e.g. FindMisspeltVariables
  std::string policy_origin;               // "--policy", "built in", ...
  // Per knob, recorded evidence for the chosen value (contract_check.h's
  // FindEvidence).
  std::map<std::string, std::vector<Evidence>> evidence;
  // >= 0: the decision is for GPU `ordinal` of a host with several, and
  // the JSON renderers lead their object with "ordinal".
  int ordinal = -1;
};

// {"decision":{"q4k":"HwDp4a",...}} on one line: the fixed eval/batch shape.
std::string RenderDecisionJson(const Decision& d);

// Writes the knob -> value map as a JSON object (enum names, ints, bools,
// strings), in the policy's declaration order.
void WriteDecisionObject(JsonWriter& w, const Decision& d);

// `policyctl eval`: one "knob = value" line per knob, then warnings.
std::string RenderEvalText(const Decision& d, const ExplainOptions& options);
// `policyctl eval --format json`: decision plus policy, device and warnings.
std::string RenderEvalJson(const Decision& d, const ExplainOptions& options);

// `policyctl explain`: the whole trace.
std::string RenderExplainText(const Decision& d, const ExplainOptions& options);
std::string RenderExplainJson(const Decision& d, const ExplainOptions& options);

}  // namespace kpolicy

#endif  // KPOLICY_EXPLAIN_H_
