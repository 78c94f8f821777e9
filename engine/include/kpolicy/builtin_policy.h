// The default policy, compiled into the binary from policies/default.yaml so
// that a host with no policy file still gets the reference behaviour.
// `extends: builtin:default` in an overlay names it.
//
// Thread-safety: immutable static data.
#ifndef KPOLICY_BUILTIN_POLICY_H_
#define KPOLICY_BUILTIN_POLICY_H_

#include <string_view>

namespace kpolicy {

// The name diagnostics and explain give the compiled-in file.
inline constexpr std::string_view kBuiltinDefaultPolicyName = "builtin:default";

// The text of policies/default.yaml at build time.
std::string_view BuiltinDefaultPolicyText();

}  // namespace kpolicy

#endif  // KPOLICY_BUILTIN_POLICY_H_
