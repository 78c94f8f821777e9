// Contract: a requirement that the kernel variant a policy selects must meet
// on every GPU it is recorded for, e.g. FALSIFY-CPU-GPU-008: "the Q4_K GEMV
// variant chosen for a device keeps CPU/GPU output cosine >= 0.99 and the
// same argmax on the massive-activation workloads". Contracts live in
// contracts/*.yaml (format in contracts/README.md).
//
// Thread-safety: value types; loading is a pure function of the files.
#ifndef KPOLICY_CONTRACT_H_
#define KPOLICY_CONTRACT_H_

#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/diagnostic.h"

namespace kpolicy {

// The metrics records carry and contracts may bound, with their direction.
// cosine, argmax_agreement: higher is better (bounded with `min`);
// relative_l2_error, max_abs_error, nan_count, inf_count: lower is better
// (bounded with `max`).
const std::vector<std::string>& KnownParityMetrics();

struct Threshold {
  std::string metric;
  bool is_min = true;  // value >= limit (min) or value <= limit (max)
  double limit = 0;
  SourceLocation location;

  bool Holds(double value) const;  // NaN never holds
  std::string ToString() const;    // "cosine >= 0.99"
};

struct Contract {
  std::string id;         // FALSIFY-CPU-GPU-008
  std::string title;
  std::string knob;       // the knob whose value names the variant: q4k
  std::string operation;  // the operation records name: q4k_gemv
  std::vector<std::string> workloads;  // records of these workloads count
  // The knob values the contract applies to (empty: every value), e.g.
  // [true] for a path that only runs when a bool knob turns it on.
  std::vector<std::string> variants;
  SourceLocation variants_location;  // where `variants:` is written
  std::vector<Threshold> thresholds;
  std::vector<std::string> refs;
  SourceLocation location;
};

// Every contract in one file. Operations and workloads must be ones records
// measure (parity_vocabulary.h), the operation the knob's, and each bound
// within its metric's domain: a typo is an error at its line and column.
Checked<std::vector<Contract>> LoadContractFile(const std::string& path);
// The same for text that came from `file` (named in diagnostics).
Checked<std::vector<Contract>> ParseContracts(std::string_view text, const std::string& file);

// Every contract in the *.yaml files directly in `directory`, in file-name
// order; ids must be unique across them.
Checked<std::vector<Contract>> LoadContractDirectory(const std::string& directory);

}  // namespace kpolicy

#endif  // KPOLICY_CONTRACT_H_
