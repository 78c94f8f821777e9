// Contract: a requirement that the kernel variant a policy selects must meet
// on every GPU it is recorded for, e.g. FALSIFY-CPU-GPU-008: "the Q4_K GEMV
// variant chosen for a device keeps CPU/GPU output cosine >= 0.99 and the
// same argmax on the massive-activation workloads". Contracts live in
// contracts/*.yaml (format in contracts/README.md).
//
// Thread-safety: value types; loading is a pure function of the files.
#ifndef KPOLICY_CONTRACT_H_
#define KPOLICY_CONTRACT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/diagnostic.h"

namespace kpolicy {

// The metrics records carry and contracts may bound, with their direction.
// cosine, argmax_agreement: higher is better (bounded with `min`);
// relative_l2_error, max_abs_error, nan_count, inf_count: lower is better
// (bounded with `max`). `corrupted` is an observed outcome that came with no
// figure (FALSIFY-CPU-GPU-009: "batched prefill corrupted the KV cache"):
// 1 the output was corrupted, 0 it was intact; a record holds nothing else.
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
  // Other spellings of the same switch (the seed's batched_prefill for
  // prefill_path): a policy has one of them, and each value of the alias
  // names a record variant (`values: {"true": batched, "false": serial}`).
  struct Alias {
    std::string knob;
    std::map<std::string, std::string> variant_of;  // knob value -> record variant
    SourceLocation location;
  };
  std::vector<Alias> aliases;
  std::string operation;  // the operation records name: q4k_gemv
  std::vector<std::string> workloads;  // records of these workloads count
  // The knob values the contract applies to (empty: every value), e.g.
  // [true] for a path that only runs when a bool knob turns it on.
  std::vector<std::string> variants;
  SourceLocation variants_location;  // where `variants:` is written
  std::vector<Threshold> thresholds;
  std::vector<std::string> refs;
  SourceLocation location;

  // Whether the contract constrains knob `name`: its `knob` or an alias.
  bool Constrains(const std::string& name) const;
  // The record variant that `value` of knob `name` selects: the value itself
  // for `knob`, the alias's mapping for an alias ("" for a value it does not
  // map, which no record names).
  std::string VariantOf(const std::string& name, const std::string& value) const;
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
