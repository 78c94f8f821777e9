// CompilePolicy: a RawPolicy (merged with its bases) -> Policy. Gives every
// name a slot (device facts, environment variables, derived facts, knobs),
// compiles each expression against the names in scope and the type it must
// have, checks constant values against their knob's range, orders facts and
// knobs so each comes after what it reads (reporting dependency cycles) and
// lints rules and overrides that can never fire. Internal to the engine.
//
// Cost: linear in the policy's size plus one expression compile each.
// Thread-safety: a pure function of its arguments.
#ifndef KPOLICY_ENGINE_POLICY_COMPILE_H_
#define KPOLICY_ENGINE_POLICY_COMPILE_H_

#include <optional>

#include "kpolicy/diagnostic.h"
#include "kpolicy/policy.h"
#include "raw_policy.h"

namespace kpolicy {

// The Policy, or nullopt after reporting every error into `diagnostics`.
std::optional<Policy> CompilePolicy(const RawPolicy& raw, Diagnostics& diagnostics);

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_POLICY_COMPILE_H_
