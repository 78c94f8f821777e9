// The built-in policies, compiled into the binary so that a host with no
// policy file still gets a policy: builtin:default (policies/default.yaml)
// and builtin:seed (policies/compat/seed.yaml, the seed's behaviour exactly).
// `extends: builtin:default` in an overlay, or `--policy builtin:seed`, names one.
//
// Thread-safety: immutable static data.
#ifndef KPOLICY_BUILTIN_POLICY_H_
#define KPOLICY_BUILTIN_POLICY_H_

#include <optional>
#include <string_view>

namespace kpolicy {

// The name diagnostics and explain give the compiled-in file.
inline constexpr std::string_view kBuiltinDefaultPolicyName = "builtin:default";

inline constexpr std::string_view kBuiltinSeedPolicyName = "builtin:seed";

// The text of policies/default.yaml at build time.
std::string_view BuiltinDefaultPolicyText();
// The text of policies/compat/seed.yaml at build time.
std::string_view BuiltinSeedPolicyText();
// The text of the built-in policy `name` ("builtin:default", "builtin:seed");
// nullopt for any other name.
std::optional<std::string_view> BuiltinPolicyText(std::string_view name);

}  // namespace kpolicy

#endif  // KPOLICY_BUILTIN_POLICY_H_
