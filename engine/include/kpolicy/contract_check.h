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
#include "kpolicy/evaluator.h"
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
  std::string value;        // the knob's value where it differs from the variant it names (an alias)
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
  // A policy that cannot be evaluated, a knob it lacks, a contract's or
  // record's variant that the knob cannot take: each a whole diagnostic
  // line, `FILE:LINE:COL: error: MESSAGE`.
  std::vector<std::string> errors;
  // Declared overrides that no value tried makes decide on a recorded
  // device, so what they would select there is not checked:
  // "policies/x.yaml:12:9: override FOO of knob q4k never decides on GB10 (...)".
  std::vector<std::string> unreached_overrides;
  // Constraints (requires:) that refused a value, clean or under an
  // override: "GB10 (...): with FUSED_GATE_UP=1, refused: fused_gate_up = true: ...".
  std::vector<std::string> refusals;

  int Count(CheckFinding::Kind kind, bool clean_environment) const;
  // No error and no violation in the clean environment.
  bool passed() const { return errors.empty() && Count(CheckFinding::kViolation, true) == 0; }
};

// Contracts and the parity records that evidence them, as check, explain,
// lint, test and the runtime read them.
struct EvidenceSet {
  std::vector<Contract> contracts;
  std::vector<ParityRecord> records;
};

// The contracts in `contracts_directory` and the records in
// `records_directory` (a contracts folder's records are in its parity/).
// kUnreadable when either folder is missing ("DIR: error: no such records
// folder"); kInvalidInput when a file does not load, with every diagnostic
// of both folders (FILE:LINE:COL: error: ...). Nothing is half-loaded.
Expected<EvidenceSet> LoadEvidenceSet(const std::string& contracts_directory, const std::string& records_directory);

// One error per rule of `policy` that asks for evidence under a contract
// `contracts` does not define or that constrains another knob, at the rule:
// with such a rule the records could never prove anything, and a typo
// would pass for "not proven".
Diagnostics CheckEvidenceRules(const Policy& policy, const std::vector<Contract>& contracts);

// Evidence from parity records: a contract is proven for a value on a
// device and model when a record that speaks for both (ParityRecord::Matches,
// MatchesModel) meets every threshold and no such record breaks one.
// Holds references: keep `contracts` and `records` alive.
class RecordEvidence : public EvidenceOracle {
 public:
  RecordEvidence(const std::vector<Contract>& contracts, const std::vector<ParityRecord>& records)
      : contracts_(contracts), records_(records) {}
  Answer Prove(const std::string& contract, const std::string& knob, const std::string& value,
               const DeviceFacts& device, const ModelFacts& model) const override;
  // Prove walks the contracts and checks each record: 13 us a call with
  // the repository's 11 contracts and 4 records (a policy of 3,900 rules
  // asking for evidence, `policyctl eval --contracts` against none), about
  // 128 units a record at the 24 ns of the slowest unit (limits.h).
  uint64_t ProveUnits() const override { return contracts_.size() + 128 * (1 + records_.size()); }

 private:
  const std::vector<Contract>& contracts_;
  const std::vector<ParityRecord>& records_;
};

// Rules asking for evidence are evaluated against `records` as well.
CheckReport CheckContracts(const Policy& policy, const std::vector<Contract>& contracts,
                           const std::vector<ParityRecord>& records);

// The knob of `policy` that `contract` constrains: its `knob`, else the
// first of its aliases the policy has; null when the policy has none.
const Knob* ConstrainedKnob(const Contract& contract, const Policy& policy);

// "contracts/parity/rtx4090.yaml (covers Ada (cc 8.9..8.9)) [model ...]":
// the record's file with the devices and model it speaks for.
std::string RecordScope(const ParityRecord& record);

// For explain: per knob, the recorded evidence about the value the decision
// chose, from the records that match its device.
std::map<std::string, std::vector<Evidence>> FindEvidence(const Decision& decision,
                                                             const std::vector<Contract>& contracts,
                                                             const std::vector<ParityRecord>& records);

}  // namespace kpolicy

#endif  // KPOLICY_CONTRACT_CHECK_H_
