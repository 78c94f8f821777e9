// Policy: a compiled policy, ready to evaluate. Produced only by the loader
// (policy_loader.h) after every check has passed, so holding a Policy means
// the file was valid: names resolved, types checked, knobs ordered by
// dependency. Every element keeps the place in its file it came from.
//
// Evaluation reads and writes an array of values ("slots"): the device facts
// first, then the declared environment variables, then derived facts and
// knobs. Expressions hold slot indices, never names.
//
// Thread-safety: immutable after loading; share freely between threads.
#ifndef KPOLICY_POLICY_H_
#define KPOLICY_POLICY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/diagnostic.h"
#include "kpolicy/expression.h"
#include "kpolicy/value.h"

namespace kpolicy {

// An environment override: when `var` is set (and `when`, if any, holds),
// the knob takes `value`. If `value` cannot be computed or is out of the
// knob's range, the override is ignored with a warning and the next one is
// tried, so a bad MWV_WARPS never becomes a guess.
struct EnvOverride {
  std::string var;
  int var_slot = -1;
  bool has_condition = false;  // false: fires on presence alone ("set")
  Expression when;             // only if has_condition
  Expression value;
  std::string why;             // shown by explain when the override decides
  SourceLocation location;

  // Fires on presence alone and ignores the text: "0" and "" select too.
  bool presence_only() const;
};

struct Rule {
  std::string id;
  Expression when;
  Expression value;  // constant when `evidence` is given
  std::string why;
  std::vector<std::string> refs;
  // Contract ids: the rule fires only where `when` holds and the records
  // prove each contract for its value on the device (and model).
  std::vector<std::string> evidence;
  SourceLocation location;
};

// A condition a knob's value must meet whatever decided it (fused_gate_up
// requires q4k == HwDp4a: the fused kernel exists for the HwDp4a path only).
// The condition may read the knob itself (`!fused_gate_up || q4k == HwDp4a`).
// When it fails, kFallbackAndWarn takes the knob's `fallback` with a
// "refused: ..." warning; kStop fails the evaluation (fail closed).
struct Constraint {
  enum OnFail { kFallbackAndWarn, kStop } on_fail = kStop;
  Expression condition;
  std::string message;
  SourceLocation location;
};

struct Knob {
  std::string name;
  Type type;
  std::string doc;
  std::vector<EnvOverride> env;  // first match wins, before the rules
  std::vector<Rule> rules;       // first match wins
  Expression default_value;
  std::string default_why;  // default: {value, why, refs}
  std::vector<std::string> default_refs;
  std::vector<Constraint> constraints;  // requires:, checked in order
  // The value the runtime switches to when the kernel this knob selects
  // fails the load-time parity gate (none: the gate failure is fatal).
  std::optional<Value> fallback;
  SourceLocation fallback_location;  // where `fallback:` is written
  SourceLocation location;
  int slot = -1;
};

struct DerivedFact {
  std::string name;
  Expression expr;
  SourceLocation location;
  int slot = -1;
};

struct SlotInfo {
  std::string name;  // "device.cc", "MWV_WARPS", "has_dp4a", "q4k"
  Type type;
};

struct EvaluationStep {
  enum Kind { kFact, kKnob } kind;
  int index;  // into facts or knobs
};

struct Policy {
  int schema = 1;
  std::string name;
  std::string version;
  std::string description;
  std::string file;                // the file loaded
  std::vector<std::string> bases;  // files it extends, nearest first
  bool gate_failure_is_fatal = false;  // on_gate_failure: fatal

  std::vector<SlotInfo> slots;
  std::vector<int> env_slots;  // declared environment variables, first use order
  // A declared variable's name -> its index in env_slots: an evaluation
  // looks up the variables it is given, not every one the policy declares.
  std::map<std::string, int, std::less<>> env_index;
  std::vector<DerivedFact> facts;
  std::vector<Knob> knobs;     // declaration order: the order of every output
  std::vector<EvaluationStep> order;  // dependency order
  Diagnostics warnings;        // findings that do not stop the policy loading

  const Knob* FindKnob(std::string_view name) const;
  // Names of the declared environment variables, first use order.
  std::vector<std::string> EnvironmentVariables() const;
};

// The device and model facts every policy can read, in slot order
// (policy_compile.cpp names and types them).
enum DeviceSlot {
  kSlotCc, kSlotCcMajor, kSlotCcMinor, kSlotNumSms, kSlotName, kSlotMemoryMib,
  kSlotBandwidthGbps, kSlotDriver, kSlotCudaRuntime, kSlotMemoryFreeMib,
  kSlotModelArchitecture, kSlotModelName, kSlotModelQuantisation, kSlotModelSize,
  kDeviceSlotCount
};

}  // namespace kpolicy

#endif  // KPOLICY_POLICY_H_
