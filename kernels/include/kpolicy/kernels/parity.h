// How close a candidate output (a kernel's, or an emulation's) is to a
// reference output: the numbers a parity contract records and checks. All
// arithmetic is in double, whatever the inputs' type.
//
// Thread-safety: pure functions; ParityMetrics is a value type.
#ifndef KPOLICY_KERNELS_PARITY_H_
#define KPOLICY_KERNELS_PARITY_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace kpolicy::kernels {

// Definitions, with r the reference and c the candidate, over the n
// elements (all rows together unless a field says otherwise):
struct ParityMetrics {
  int64_t elements = 0;            // n
  int64_t rows = 0;                // rows the vectors were split into for argmax
  // sum(r*c) / (||r|| * ||c||), dimensionless in [-1, 1]. 1 when both are
  // all zero, 0 when exactly one is.
  double cosine = 0.0;
  // ||c - r||_2 / ||r||_2, dimensionless. 0 when both are all zero, +inf
  // when only r is.
  double relative_l2_error = 0.0;
  // max_i |c_i - r_i|, in the outputs' own units.
  double max_abs_error = 0.0;
  // Rows whose argmax (first index of the largest value; NaN never wins)
  // is the same in r and c, and that count over rows.
  int64_t argmax_matching_rows = 0;
  double argmax_agreement = 0.0;   // argmax_matching_rows / rows, in [0, 1]
  // Non-finite entries in the candidate. When either vector holds any
  // non-finite value, cosine, relative_l2_error and max_abs_error are NaN,
  // so that every threshold comparison on them fails.
  int64_t candidate_nan_count = 0;
  int64_t candidate_inf_count = 0;
  int64_t reference_nonfinite_count = 0;

  bool all_finite() const {
    return candidate_nan_count == 0 && candidate_inf_count == 0 && reference_nonfinite_count == 0;
  }
  // One line, e.g. "cosine=0.999912 rel_l2=0.0132 max_abs=0.041 argmax=8/8 nan=0 inf=0".
  std::string ToString() const;
  // The metrics as a parity record names them (contracts/README.md):
  // cosine, relative_l2_error, max_abs_error, argmax_agreement, nan_count,
  // inf_count (the candidate's).
  std::map<std::string, double> ByRecordName() const;
};

// row_length splits both vectors into rows of that many elements for the
// argmax (e.g. N logits per token); 0 means one row. Preconditions:
// reference.size() == candidate.size(), and row_length divides it.
ParityMetrics ComputeParity(std::span<const double> reference, std::span<const double> candidate,
                            int64_t row_length = 0);
ParityMetrics ComputeParity(std::span<const double> reference, std::span<const float> candidate,
                            int64_t row_length = 0);
ParityMetrics ComputeParity(std::span<const float> reference, std::span<const float> candidate,
                            int64_t row_length = 0);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_PARITY_H_
