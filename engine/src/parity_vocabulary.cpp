#include "kpolicy/parity_vocabulary.h"

#include <algorithm>
#include <limits>

namespace kpolicy {

namespace {

constexpr MeasuredOperation kOperations[] = {
    {"q4k_gemv", "q4k"},                       // GEMV variants (kernels/gemv_variants.h)
    {"q6k_gemv", "q6k"},
    {"prefill_gemm", "fp8_prefill"},           // true: FP8 cuBLASLt, false: FP16 cuBLAS
    {"fp8_decode_gemm", "fp8_decode"},         // FP8 cuBLASLt at decode batch sizes
    {"hgemm_decode_gemm", "hgemm_decode"},     // FP16 cuBLAS at decode batch sizes
    {"w4a16_decode_gemm", "w4a16_interleaved"},
    {"prefill", "prefill_path"},               // batched or serial prefill (FALSIFY-CPU-GPU-009)
};

constexpr std::string_view kWorkloads[] = {
    "plain", "massive", "fp16-overflow-sum", "deep-ffn", "model-parity-gate", "prefill-then-decode",
};

constexpr double kInf = std::numeric_limits<double>::infinity();

// cosine is a cosine; the errors are norms and absolute values; agreement a
// fraction of rows; the counts are counts; first_divergence a position or
// -1 for none (model-level rows); corrupted an outcome reported without a
// figure, 1 (the output was corrupted) or 0 (intact).
constexpr RecordedMetric kMetrics[] = {
    {"cosine", -1, 1, false, true, false},
    {"relative_l2_error", 0, kInf, false, true, true},
    {"max_abs_error", 0, kInf, false, true, true},
    {"argmax_agreement", 0, 1, false, false, false},
    {"nan_count", 0, 9007199254740992.0, true, false, false},  // 2^53: every count a double holds exactly
    {"inf_count", 0, 9007199254740992.0, true, false, false},
    {"first_divergence", -1, 9007199254740992.0, true, false, false},
    {"corrupted", 0, 1, true, false, false},
};

}  // namespace

std::span<const MeasuredOperation> MeasuredOperations() { return kOperations; }

const MeasuredOperation* FindMeasuredOperation(std::string_view name) {
  for (const MeasuredOperation& op : kOperations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::span<const std::string_view> MeasuredWorkloads() { return kWorkloads; }

bool IsMeasuredWorkload(std::string_view name) {
  return std::find(std::begin(kWorkloads), std::end(kWorkloads), name) != std::end(kWorkloads);
}

std::span<const RecordedMetric> RecordedMetrics() { return kMetrics; }

const RecordedMetric* FindRecordedMetric(std::string_view name) {
  for (const RecordedMetric& m : kMetrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> MeasuredOperationNames() {
  std::vector<std::string> out;
  for (const MeasuredOperation& op : kOperations) out.emplace_back(op.name);
  return out;
}

std::vector<std::string> MeasuredWorkloadNames() { return {std::begin(kWorkloads), std::end(kWorkloads)}; }

}  // namespace kpolicy
