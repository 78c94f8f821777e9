// Policy resolution at startup: which policy a process runs, in this order:
//   1. an explicit path (the server's own flag or config);
//   2. the KPOLICY_FILE environment variable;
//   3. /etc/kpolicy/policy.yaml, if the file exists;
//   4. the default policy compiled into the binary.
// A policy named by 1-3 that fails to load stops startup with its
// diagnostics (fail closed): a broken policy never starts a runtime with a
// guess. The compiled-in default is used only when nothing is configured.
//
// Thread-safety: pure function of its inputs and the files it reads.
#ifndef KPOLICY_RUNTIME_POLICY_SOURCE_H_
#define KPOLICY_RUNTIME_POLICY_SOURCE_H_

#include <memory>
#include <string>

#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/policy.h"

namespace kpolicy::runtime {

inline constexpr const char* kPolicyFileVariable = "KPOLICY_FILE";
inline constexpr const char* kSystemPolicyPath = "/etc/kpolicy/policy.yaml";

struct PolicySource {
  enum Kind { kExplicit, kEnvironment, kSystem, kBuiltin } kind = kBuiltin;
  std::string path;  // the file read, or builtin:default

  // "--policy /srv/fleet.yaml", "KPOLICY_FILE=...", "/etc/kpolicy/policy.yaml",
  // "compiled-in default (no policy configured)".
  std::string Describe() const;
};

struct ResolvedPolicy {
  std::unique_ptr<const Policy> policy;  // stable address: decisions point into it
  PolicySource source;
  std::string sha256;  // of the policy text read (lowercase hex), for the effective configuration
};

struct ResolveOptions {
  std::string explicit_path;                      // empty: none
  std::string system_path = kSystemPolicyPath;    // tests point this elsewhere
};

// The error (kInvalidInput) says which source was chosen and carries every
// diagnostic, one per line.
Expected<ResolvedPolicy> ResolvePolicy(const ResolveOptions& options, const Environment& env);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_POLICY_SOURCE_H_
