#include "kpolicy/kernels/parity.h"

#include <cassert>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace kpolicy::kernels {

namespace {

template <typename T>
int64_t ArgmaxOf(const T* v, int64_t n) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(v[i])) continue;
    if (best < 0 || v[i] > v[best]) best = i;
  }
  return best;
}

template <typename R, typename C>
ParityMetrics Compute(std::span<const R> r, std::span<const C> c, int64_t row_length) {
  assert(r.size() == c.size());
  const int64_t n = static_cast<int64_t>(r.size());
  if (row_length <= 0) row_length = n;
  assert(n == 0 || n % row_length == 0);

  ParityMetrics p;
  p.elements = n;
  double dot = 0.0, rr = 0.0, cc = 0.0, diff2 = 0.0, max_abs = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double ri = r[i], ci = c[i];
    if (std::isnan(ci)) ++p.candidate_nan_count;
    if (std::isinf(ci)) ++p.candidate_inf_count;
    if (!std::isfinite(ri)) ++p.reference_nonfinite_count;
    dot += ri * ci;
    rr += ri * ri;
    cc += ci * ci;
    const double d = ci - ri;
    diff2 += d * d;
    max_abs = std::fmax(max_abs, std::fabs(d));
  }
  if (!p.all_finite()) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    p.cosine = p.relative_l2_error = p.max_abs_error = nan;
  } else {
    if (rr == 0.0 && cc == 0.0) {
      p.cosine = 1.0;
    } else if (rr == 0.0 || cc == 0.0) {
      p.cosine = 0.0;
    } else {
      p.cosine = dot / (std::sqrt(rr) * std::sqrt(cc));
    }
    if (rr == 0.0) {
      p.relative_l2_error = diff2 == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
    } else {
      p.relative_l2_error = std::sqrt(diff2 / rr);
    }
    p.max_abs_error = max_abs;
  }
  p.rows = n == 0 ? 0 : n / row_length;
  for (int64_t row = 0; row < p.rows; ++row) {
    const int64_t a = ArgmaxOf(r.data() + row * row_length, row_length);
    const int64_t b = ArgmaxOf(c.data() + row * row_length, row_length);
    if (a >= 0 && a == b) ++p.argmax_matching_rows;
  }
  p.argmax_agreement = p.rows == 0 ? 1.0 : static_cast<double>(p.argmax_matching_rows) / p.rows;
  return p;
}

}  // namespace

std::string ParityMetrics::ToString() const {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "cosine=%.6f rel_l2=%.4g max_abs=%.4g argmax=%lld/%lld nan=%lld inf=%lld", cosine,
                relative_l2_error, max_abs_error, static_cast<long long>(argmax_matching_rows),
                static_cast<long long>(rows), static_cast<long long>(candidate_nan_count),
                static_cast<long long>(candidate_inf_count));
  return buffer;
}

ParityMetrics ComputeParity(std::span<const double> reference, std::span<const double> candidate,
                            int64_t row_length) {
  return Compute(reference, candidate, row_length);
}

ParityMetrics ComputeParity(std::span<const double> reference, std::span<const float> candidate,
                            int64_t row_length) {
  return Compute(reference, candidate, row_length);
}

ParityMetrics ComputeParity(std::span<const float> reference, std::span<const float> candidate,
                            int64_t row_length) {
  return Compute(reference, candidate, row_length);
}

std::map<std::string, double> ParityMetrics::ByRecordName() const {
  return {{"cosine", cosine},
          {"relative_l2_error", relative_l2_error},
          {"max_abs_error", max_abs_error},
          {"argmax_agreement", argmax_agreement},
          {"nan_count", static_cast<double>(candidate_nan_count)},
          {"inf_count", static_cast<double>(candidate_inf_count)}};
}

}  // namespace kpolicy::kernels
