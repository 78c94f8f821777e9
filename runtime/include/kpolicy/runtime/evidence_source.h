// Evidence resolution at startup: which contracts and parity records the
// policy's rules that ask for evidence (`evidence: [CONTRACT]`) are decided
// against, in this order, first match wins:
//   1. an explicit contracts folder (the server's own flag or config);
//   2. the KPOLICY_CONTRACTS environment variable;
//   3. /etc/kpolicy/contracts, if it exists (beside /etc/kpolicy/policy.yaml);
//   4. none: no records, so no rule asking for evidence fires, and the trace
//      says so for each ("no records were given").
// A contracts folder is what `policyctl explain --contracts DIR` and
// `policyctl check --contracts DIR` read: contract files in DIR, parity
// records in DIR/parity. So the runtime decides exactly as explain shows.
//
// A folder named by 1-3 that is missing (or lacks parity/), a contract or
// record that does not load (FILE:LINE:COL), or a policy rule asking for a
// contract the folder does not define stops startup: records the operator
// configured are never silently replaced by none. Nothing is compiled in:
// records are the fleet's evidence, kept and reviewed with its policies.
//
// Thread-safety: pure function of its inputs and the files it reads.
#ifndef KPOLICY_RUNTIME_EVIDENCE_SOURCE_H_
#define KPOLICY_RUNTIME_EVIDENCE_SOURCE_H_

#include <memory>
#include <string>

#include "kpolicy/contract_check.h"
#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/policy.h"

namespace kpolicy::runtime {

inline constexpr const char* kContractsVariable = "KPOLICY_CONTRACTS";
inline constexpr const char* kSystemContractsPath = "/etc/kpolicy/contracts";

struct EvidenceSource {
  enum Kind { kExplicit, kEnvironment, kSystem, kNone } kind = kNone;
  std::string path;  // the contracts folder; its records are in path/parity

  // "explicit path /srv/contracts", "KPOLICY_CONTRACTS=/srv/contracts",
  // "/etc/kpolicy/contracts", or "none (no contracts folder configured: ...)".
  std::string Describe() const;
};

struct ResolvedEvidence {
  EvidenceSource source;
  // Stable address: `oracle` refers into it. Empty for kNone.
  std::unique_ptr<const EvidenceSet> set;
  // The records' answer for rules asking for evidence; null for kNone (the
  // evaluator then fires none of them and says no records were given).
  std::unique_ptr<const RecordEvidence> oracle;
};

struct EvidenceOptions {
  std::string explicit_path;                        // empty: none
  std::string system_path = kSystemContractsPath;   // tests point this elsewhere
};

// The error says which source was chosen: kUnreadable for a missing folder
// (or one that cannot be inspected), kInvalidInput for a file that does not
// load or a rule of `policy` asking for a contract the folder lacks, with
// every diagnostic, one per line.
Expected<ResolvedEvidence> ResolveEvidence(const EvidenceOptions& options, const Environment& env,
                                           const Policy& policy);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_EVIDENCE_SOURCE_H_
