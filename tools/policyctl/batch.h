// Batch evaluation (`policyctl eval --batch FILE`): one JSON case per input
// line, {"cc":"12.1","sms":48,"env":{"FP8_PREFILL":"0"}}, one JSON line out
// per line in, in order: {"decision":{...}} or {"error":"..."}. A case sees
// exactly the environment its line gives, never the process's, so a batch
// answers the same on every host.
#ifndef KPOLICY_TOOLS_BATCH_H_
#define KPOLICY_TOOLS_BATCH_H_

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "kpolicy/policy.h"

namespace kpolicy::tools {

struct BatchResult {
  size_t cases = 0;
  size_t errors = 0;
};

// The output line (without newline) for one input line; `failed` is set when
// it is an {"error":...} line. `line_number` counts from 1, for messages.
std::string EvaluateBatchLine(const Policy& policy, std::string_view line, size_t line_number,
                              bool& failed);

// Every line of `in` to `out`.
BatchResult RunBatch(const Policy& policy, std::istream& in, std::ostream& out);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_BATCH_H_
