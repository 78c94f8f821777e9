#include "kpolicy/runtime/policy_source.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/runtime/sha256.h"

namespace kpolicy::runtime {

namespace {

Expected<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Fail(ErrorCode::kUnreadable, SourceLocation{path}, "cannot read the policy file for its digest");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

std::string PolicySource::Describe() const {
  switch (kind) {
    case kExplicit: return "explicit path " + path;
    case kEnvironment: return std::string(kPolicyFileVariable) + "=" + path;
    case kSystem: return path;
    case kBuiltin: return "compiled-in default (no policy configured)";
  }
  return path;
}

Expected<ResolvedPolicy> ResolvePolicy(const ResolveOptions& options, const Environment& env) {
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
    return Fail(loaded.error().code,
                "policy from " + source.Describe() + " does not load:\n" + loaded.error().ToString());
  }
  // The file is read a second time for its digest (the loader owns the first
  // read); a file replaced in between shows as a digest of the new text.
  auto text = source.kind == PolicySource::kBuiltin ? Expected<std::string>(std::string(BuiltinDefaultPolicyText()))
                                                    : ReadFileBytes(source.path);
  if (!text.ok()) return Fail(std::move(text).error());
  return ResolvedPolicy{std::make_unique<const Policy>(std::move(loaded).value()), source, Sha256Hex(*text)};
}

}  // namespace kpolicy::runtime
