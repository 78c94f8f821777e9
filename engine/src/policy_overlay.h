// MergeOverlay: a policy that `extends:` a base, merged over that base as
// policies/README.md describes. Facts and knob fields replace by name;
// rules replace by id or are inserted (before the base's rules unless
// `before:`/`after:` names one, in the overlay's order either way); `env:`
// replaces a knob's whole override list. Mistakes in the overlay (a rule
// placed next to one the base lacks, a changed type, a rule id written
// twice, a rule removed and added back with no place, which would reorder
// it in silence) are reported into `diagnostics`. Cost: n log n in the
// facts, knobs and rules. Internal to the engine.
//
// Thread-safety: a pure function of its arguments.
#ifndef KPOLICY_ENGINE_POLICY_OVERLAY_H_
#define KPOLICY_ENGINE_POLICY_OVERLAY_H_

#include "kpolicy/diagnostic.h"
#include "raw_policy.h"

namespace kpolicy {

RawPolicy MergeOverlay(RawPolicy base, RawPolicy overlay, Diagnostics& diagnostics);

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_POLICY_OVERLAY_H_
