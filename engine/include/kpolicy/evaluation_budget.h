// EvaluationBudget: the work one command may spend evaluating policies,
// counted as it is spent. One evaluation is bounded by the policy's size,
// but commands evaluate many times: check once per record and override
// value tried, lint once per point of each analysis, a batch once per line.
// Inputs each within their own limits (limits.h) multiply: a 400 KB policy
// made check run for 15 s of CPU, a policy of 80 knobs made lint run 10 s,
// a 4,000-rule policy over a 100,000-line batch 32 s. So every expression
// node an evaluation visits costs a unit, a string it copies or builds one
// more per 64 bytes (a node copying 4 KiB does that much more work), and a
// knob one per override it lists; past the budget the evaluation fails
// with an error that names the limit, and the command stops.
//
// Thread-safety: one budget per command, used by one thread.
#ifndef KPOLICY_EVALUATION_BUDGET_H_
#define KPOLICY_EVALUATION_BUDGET_H_

#include <cstdint>
#include <string>

#include "kpolicy/limits.h"

namespace kpolicy {

class EvaluationBudget {
 public:
  explicit EvaluationBudget(uint64_t units = limits::kEvaluationUnits) : limit_(units) {}

  // Takes `units`; false, from then on, once more than the budget is spent.
  bool Spend(uint64_t units) {
    spent_ += units;
    return spent_ <= limit_;
  }
  // The units a string of `bytes` costs beyond its node.
  static uint64_t ForBytes(size_t bytes) { return bytes / 64; }

  bool spent() const { return spent_ > limit_; }
  uint64_t units_spent() const { return spent_; }
  uint64_t limit() const { return limit_; }
  // Why evaluation stopped, for the error at the node where it did.
  std::string Message() const {
    return "the evaluation work passed the limit of " + std::to_string(limit_) +
           " units (an expression node visited is a unit)";
  }

 private:
  uint64_t limit_;
  uint64_t spent_ = 0;
};

}  // namespace kpolicy

#endif  // KPOLICY_EVALUATION_BUDGET_H_
