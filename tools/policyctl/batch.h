// Batch evaluation (`policyctl eval --batch FILE`): one JSON case per input
// line, {"cc":"12.1","sms":48,"env":{"FP8_PREFILL":"0"}}, one JSON line out
// per line in, in order: {"decision":{...}} or {"error":"..."}. A case sees
// exactly the environment its line gives, never the process's, so a batch
// answers the same on every host. A batch is bounded (limits.h): a line
// longer than limits::kBatchLineBytes or more than limits::kBatchLines
// lines stop it with an error at the place, after answering the lines
// before, and so does passing the evaluation budget of one command
// (evaluation_budget.h: lines times the policy's size); a line's `env` of
// more than limits::kEnvironmentEntries variables is that line's error.
#ifndef KPOLICY_TOOLS_BATCH_H_
#define KPOLICY_TOOLS_BATCH_H_

#include <cstddef>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "kpolicy/error.h"
#include "kpolicy/evaluation_budget.h"
#include "kpolicy/policy.h"

namespace kpolicy::tools {

struct BatchResult {
  size_t cases = 0;
  size_t errors = 0;
  // Set when a limit stopped the batch before its end: at the line (and
  // column) where it was passed, naming the limit.
  std::optional<Diagnostic> stopped;
};

// The output line (without newline) for one input line; `failed` is set when
// it is an {"error":...} line. `line_number` counts from 1, for messages.
// The evaluation spends from `budget` when one is given.
std::string EvaluateBatchLine(const Policy& policy, std::string_view line, size_t line_number,
                              bool& failed, EvaluationBudget* budget = nullptr);

// Every line of `in` to `out`; `source` names `in` in `stopped`'s place.
BatchResult RunBatch(const Policy& policy, std::istream& in, std::ostream& out,
                     const std::string& source = "<stdin>");

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_BATCH_H_
