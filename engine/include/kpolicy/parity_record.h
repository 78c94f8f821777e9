// ParityRecord: measurements of every kernel variant on one GPU, with where
// they came from, as kept in contracts/parity/<device>.yaml. Written by
// `policyctl record` on a machine with the GPU ("measured": date, driver,
// tool version, git commit, command) or by hand from a published figure
// ("reported": the source named). Contracts are checked against these.
//
// Thread-safety: value types; loading and writing are pure functions.
#ifndef KPOLICY_PARITY_RECORD_H_
#define KPOLICY_PARITY_RECORD_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/device.h"
#include "kpolicy/diagnostic.h"

namespace kpolicy {

struct Provenance {
  std::string kind;          // "measured" or "reported"
  std::string date;          // YYYY-MM-DD
  std::string source;        // reported: who said so, where
  std::string driver;        // measured: driver version
  std::string cuda_runtime;  // measured
  std::string tool_version;  // measured: kpolicy version
  std::string git_commit;    // measured
  std::string command;       // measured: the command line
  std::string speed_method;  // measured, optional: how the speed fields were timed

  // "measured 2026-11-25, driver 570.1, kpolicy 0.1.0 (abc123)" or
  // "reported 2026-06-16: SOURCE".
  std::string Describe() const;
};

// One variant of one operation on one workload.
struct Measurement {
  std::string operation;  // q4k_gemv
  std::string variant;    // HwDp4a: the knob's enum member
  std::string workload;   // plain, massive, deep-ffn, ...
  std::string shape;      // free text: "n=4096 k=4096 m=1"
  std::map<std::string, double> metrics;  // KnownParityMetrics() names
  std::map<std::string, double> speed;    // us, weight_gbps, stream_ratio, ...
  std::string note;
  SourceLocation location;          // the row
  SourceLocation variant_location;  // its variant, for errors naming it
};

struct ParityRecord {
  std::string file;
  std::string device_key;  // file stem: contracts/parity/h100.yaml -> h100
  DeviceFacts device;      // name, cc, SM count (memory, bandwidth, driver if known)
  SourceLocation device_location;  // where `device:` is written
  ModelFacts model;        // the model measured (empty: kernel-level, any model)
  // `covers:` the devices the evidence speaks for beyond the exact one: a
  // compute-capability range (a product family is its catalog cc range).
  bool covers_range = false;
  int covers_cc_min = 0, covers_cc_max = 0;  // major*10 + minor, inclusive
  std::string covers_text;                   // "Ada (cc 8.9)", for messages
  Provenance provenance;
  std::vector<Measurement> results;

  // Whether this record speaks for `device`: with `covers:`, any device in
  // its cc range; else the same compute capability and SM count (the same
  // chip configuration; names differ between probe and catalog).
  bool Matches(const DeviceFacts& device) const;
  // Whether it speaks for `model`: a record without a model speaks for any;
  // one with a model only for a known model whose given fields agree.
  bool MatchesModel(const ModelFacts& model) const;
};

Checked<ParityRecord> LoadParityRecord(const std::string& path);
// The same for text that came from `file` (named in diagnostics).
Checked<ParityRecord> ParseParityRecord(std::string_view text, const std::string& file);
// Every *.yaml in `directory`, in file-name order: the records `check`,
// `explain` and `lint` read as evidence, so each names a GPU (num_sms >= 1;
// 0 is a CPU emulation's record, loadable alone but refused here).
Checked<std::vector<ParityRecord>> LoadParityRecordDirectory(const std::string& directory);

// The record as YAML text in the format LoadParityRecord reads.
std::string FormatParityRecord(const ParityRecord& record);

}  // namespace kpolicy

#endif  // KPOLICY_PARITY_RECORD_H_
