// ReadPolicyDocuments: a policy file's text and the chain of bases it
// `extends:` -> one RawPolicy, each file parsed within LoadLimits
// (yaml_document.h), read against the schema (policy_schema.h) and merged
// over its base (policy_overlay.h). Bases resolve against the folder of the
// file that names them; `builtin:default` is the compiled-in default.
// Cycles and chains longer than LoadLimits::max_extends are errors at the
// `extends:` that closes or lengthens them. Internal to the engine.
//
// Thread-safety: a pure function of its arguments and the files it reads.
#ifndef KPOLICY_ENGINE_POLICY_DOCUMENT_H_
#define KPOLICY_ENGINE_POLICY_DOCUMENT_H_

#include <optional>
#include <string>
#include <string_view>

#include "kpolicy/diagnostic.h"
#include "kpolicy/policy_loader.h"
#include "raw_policy.h"

namespace kpolicy {

// The merged policy as written, or nullopt when a file could not be read or
// parsed as a policy at all; every problem is reported into `diagnostics`
// (a RawPolicy may come back together with errors). `base_unreadable` says
// that an `extends:` base could not be read at all (missing, a directory, a
// FIFO): the load then failed on its input, not on its content.
struct PolicyDocuments {
  std::optional<RawPolicy> policy;
  bool base_unreadable = false;
};
PolicyDocuments ReadPolicyDocuments(std::string_view text, const std::string& file, const LoadLimits& limits,
                                    Diagnostics& diagnostics);

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_POLICY_DOCUMENT_H_
