#include "kpolicy/runtime/policy_source.h"

#include <filesystem>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy::runtime {

std::string PolicySource::Describe() const {
  switch (kind) {
    case kExplicit: return "explicit path " + path;
    case kEnvironment: return std::string(kPolicyFileVariable) + "=" + path;
    case kSystem: return path;
    case kBuiltin: return "compiled-in default (no policy configured)";
  }
  return path;
}

Expected<ResolvedPolicy, ResolveError> ResolvePolicy(const ResolveOptions& options, const Environment& env) {
  PolicySource source;
  std::error_code ec;
  if (!options.explicit_path.empty()) {
    source = {PolicySource::kExplicit, options.explicit_path};
  } else if (const std::string* from_env = env.Find(kPolicyFileVariable); from_env && !from_env->empty()) {
    source = {PolicySource::kEnvironment, *from_env};
  } else if (!options.system_path.empty() && std::filesystem::exists(options.system_path, ec)) {
    source = {PolicySource::kSystem, options.system_path};
  } else {
    source = {PolicySource::kBuiltin, std::string(kBuiltinDefaultPolicyName)};
  }
  auto loaded = source.kind == PolicySource::kBuiltin
                    ? LoadPolicyText(BuiltinDefaultPolicyText(), source.path)
                    : LoadPolicyFile(source.path);
  if (!loaded.ok()) {
    return Fail(ResolveError{source, "policy from " + source.Describe() + " does not load:\n" +
                                         loaded.error().ToString() + "\n"});
  }
  return ResolvedPolicy{std::make_unique<const Policy>(std::move(loaded).value()), source};
}

}  // namespace kpolicy::runtime
