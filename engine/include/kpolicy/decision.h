// Decision: the outcome of evaluating a policy for one device and one
// environment: every knob's value and the trace of how it was reached (which
// overrides were looked at, which rules were tried, what decided). The trace
// is raw; explain.h renders it. Values a rule read are recovered from the
// slots, which never change after they are computed.
//
// A Decision points at the Policy it came from: keep the Policy alive.
// Thread-safety: value type.
#ifndef KPOLICY_DECISION_H_
#define KPOLICY_DECISION_H_

#include <string>
#include <vector>

#include "kpolicy/device.h"
#include "kpolicy/policy.h"
#include "kpolicy/value.h"

namespace kpolicy {

// What happened to one environment override of a knob.
struct EnvCheck {
  enum Outcome {
    kNotSet,          // the variable is not set
    kConditionFalse,  // set, but its `when` does not hold
    kApplied,         // decided the knob
    kIgnored,         // set and matching, but its value was unusable (detail)
    kShadowed,        // set, but an earlier override already decided the knob
  } outcome = kNotSet;
  std::string detail;  // kIgnored: why
};

struct KnobTrace {
  // kPinned: set from outside the policy's rules, e.g. the runtime's parity
  // gate falling back; `pin_reason` says why.
  enum DecidedBy { kEnv, kRule, kDefault, kPinned } decided_by = kDefault;
  std::string pin_reason;
  int index = -1;              // kEnv: override index; kRule: rule index
  std::vector<EnvCheck> env;   // one per override of the knob
  // A constraint (requires:) refused the value that decided_by chose and
  // the knob took its fallback: which constraint, and the refused value.
  int refused_by = -1;
  std::string refused_value;
  // Per rule: for a rule asking for evidence whose `when` held, what the
  // records said (the citation that let it fire, or why it did not).
  std::vector<std::string> evidence;
  // Rules tried before the deciding one (kRule), or all of them (kDefault);
  // none when an override decided.
  int rules_tried() const;
  const Knob* knob = nullptr;
};

struct Decision {
  const Policy* policy = nullptr;
  DeviceFacts device;
  ModelFacts model;
  std::vector<Value> slots;
  std::vector<bool> env_set;       // per policy->env_slots entry
  std::vector<KnobTrace> knobs;    // per policy->knobs entry
  std::vector<std::string> warnings;

  const Value& value(const Knob& knob) const { return slots[knob.slot]; }
  // The knob's value as text (FormatValue).
  std::string ValueText(const Knob& knob) const;
};

}  // namespace kpolicy

#endif  // KPOLICY_DECISION_H_
