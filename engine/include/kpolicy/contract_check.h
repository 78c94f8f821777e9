// Contract checking: evaluates a policy on every recorded GPU and checks
// each contract against the recorded figures of the variant the policy
// chooses there. First with a clean environment (what a host with no
// overrides runs), then once per declared environment override (what an
// operator could force), the latter reported as warnings. A variant with no
// record for a device is "unproven", never passing.
//
// Thread-safety: pure functions.
#ifndef KPOLICY_CONTRACT_CHECK_H_
#define KPOLICY_CONTRACT_CHECK_H_

#include <map>
#include <string>
#include <vector>

#include "kpolicy/contract.h"
#include "kpolicy/decision.h"
#include "kpolicy/explain.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy.h"

namespace kpolicy {

struct CheckFinding {
  enum Kind { kPass, kViolation, kUnproven } kind = kPass;
  std::string policy;       // "default 2026.11.0 (policies/default.yaml)"
  std::string device;       // "GB10 (contracts/parity/gb10.yaml)"
  std::string environment;  // "" for the clean environment, else "HW_DP4A_Q4K=1"
  std::string knob, variant, contract;
  std::string metric, workload, threshold, provenance;
  double measured = 0;
  std::string shape;        // the measurement's shape, e.g. the model a model-parity-gate row ran
  std::string detail;       // kUnproven: what is missing

  // One line naming everything above that applies.
  std::string ToString() const;
  // The part after the policy, device and provenance, for grouped output:
  // "q4k = HwDp4a breaks FALSIFY-CPU-GPU-008: cosine 0.9817 on
  // model-parity-gate, needs cosine >= 0.99".
  std::string Outcome() const;
};

struct CheckReport {
  std::vector<CheckFinding> findings;
  std::vector<std::string> errors;  // a policy that cannot be evaluated, a knob it lacks

  int Count(CheckFinding::Kind kind, bool clean_environment) const;
  // No error and no violation in the clean environment.
  bool passed() const { return errors.empty() && Count(CheckFinding::kViolation, true) == 0; }
};

CheckReport CheckContracts(const Policy& policy, const std::vector<Contract>& contracts,
                           const std::vector<ParityRecord>& records);

// For explain: per knob, the recorded evidence about the value the decision
// chose, from the records that match its device.
std::map<std::string, std::vector<Evidence>> FindEvidence(const Decision& decision,
                                                             const std::vector<Contract>& contracts,
                                                             const std::vector<ParityRecord>& records);

}  // namespace kpolicy

#endif  // KPOLICY_CONTRACT_CHECK_H_
