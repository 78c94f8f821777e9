// ParityVocabulary: the names parity records and contracts share, and the
// values each may hold: the operations that `policyctl record` measures
// (each the kernels a knob chooses between), the standard workloads, and the
// metrics with their ranges. Records and contracts are read against these,
// so a misspelt operation or workload, a cosine of 7 or a NaN count of -3.5
// is an error at its line and column rather than evidence that silently
// matches nothing. A new operation, workload or metric is one row here.
//
// Thread-safety: constant tables.
#ifndef KPOLICY_PARITY_VOCABULARY_H_
#define KPOLICY_PARITY_VOCABULARY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kpolicy {

// An operation a record measures and the knob whose values name its
// variants (a row's `variant:` is one of that knob's values).
struct MeasuredOperation {
  std::string_view name;  // q4k_gemv
  std::string_view knob;  // q4k
};
std::span<const MeasuredOperation> MeasuredOperations();
const MeasuredOperation* FindMeasuredOperation(std::string_view name);

// The standard workloads (contracts/README.md; tools/policyctl/record_cuda.cpp
// and model_record.cpp write them).
std::span<const std::string_view> MeasuredWorkloads();
bool IsMeasuredWorkload(std::string_view name);

// A metric's domain. NaN and +inf stand for a broken kernel's output (a
// record keeps them as .nan / .inf so that `check` can name the contract
// they break); only the metrics that can be NaN or +inf accept them.
struct RecordedMetric {
  std::string_view name;
  double min, max;         // inclusive bounds of a finite value
  bool whole;              // counts and positions
  bool may_be_nan;
  bool may_be_infinite;    // +inf only (an error relative to an all-zero reference)
};
std::span<const RecordedMetric> RecordedMetrics();
const RecordedMetric* FindRecordedMetric(std::string_view name);

// The names above as strings, for "did you mean" and "allowed:" lists.
std::vector<std::string> MeasuredOperationNames();
std::vector<std::string> MeasuredWorkloadNames();

// A recorded device's facts, bounded by what GPUs have with wide margins
// (the catalog's largest: 170 SMs, RTX 5090; 180 GiB and 8 TB/s, B200), so
// that no count can wrap when it is stored.
inline constexpr int64_t kMaxRecordedSms = 1024;
inline constexpr int64_t kMaxRecordedMemoryMib = int64_t{1} << 24;  // 16 TiB
inline constexpr int64_t kMaxRecordedBandwidthGbps = 1000000;       // 1 PB/s

}  // namespace kpolicy

#endif  // KPOLICY_PARITY_VOCABULARY_H_
