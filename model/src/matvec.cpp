#include "kpolicy/model/matvec.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "kpolicy/kernels/ggml_decode.h"
#include "parallel_for.h"

namespace kpolicy::model {
namespace {

// sum_c w[c] * x[c] in double, in column order. Four independent partial
// sums (columns c % 4) let the compiler keep several multiplies in flight;
// the order is still fixed, so the result does not depend on the caller.
double Dot(const float* w, const double* x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) {
    s0 += static_cast<double>(w[c]) * x[c];
    s1 += static_cast<double>(w[c + 1]) * x[c + 1];
    s2 += static_cast<double>(w[c + 2]) * x[c + 2];
    s3 += static_cast<double>(w[c + 3]) * x[c + 3];
  }
  for (; c < n; ++c) s0 += static_cast<double>(w[c]) * x[c];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

Expected<ReferenceMatVec> ReferenceMatVec::Create(const ModelWeights& weights, int threads) {
  return Create(weights, threads, [](const Matrix& matrix) { return kernels::DecodeTensor(matrix.tensor); });
}

Expected<ReferenceMatVec> ReferenceMatVec::Create(const ModelWeights& weights, int threads,
                                                  const DecodeMatrix& decode) {
  threads = ResolveThreads(threads);
  ReferenceMatVec matvec(threads);
  const std::vector<const Matrix*> matrices = weights.matrices();
  std::vector<std::vector<float>> decoded(matrices.size());
  std::vector<std::optional<Error>> errors(matrices.size());
  // Matrices are decoded in parallel, one whole matrix per task.
  std::atomic<size_t> next{0};
  ParallelFor(threads, threads, [&](int64_t, int64_t) {
    for (size_t i = next++; i < matrices.size(); i = next++) {
      Expected<std::vector<float>> values = decode(*matrices[i]);
      if (values.ok() && static_cast<int64_t>(values->size()) != matrices[i]->rows * matrices[i]->cols) {
        values = Fail(ErrorCode::kInvalidArgument, "matrix " + matrices[i]->name + " decoded to " +
                                                std::to_string(values->size()) + " values, not rows x cols");
      }
      if (values.ok()) {
        decoded[i] = std::move(*values);
      } else {
        errors[i] = std::move(values).error();
      }
    }
  });
  for (size_t i = 0; i < matrices.size(); ++i) {
    if (errors[i]) return Fail(std::move(*errors[i]));
    matvec.decoded_.emplace(matrices[i]->name, std::move(decoded[i]));
  }
  return matvec;
}

Status ReferenceMatVec::Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
                              std::span<double> y) {
  auto found = decoded_.find(matrix.name);
  if (found == decoded_.end()) {
    return Fail(ErrorCode::kNotFound, "the reference has no matrix " + matrix.name);
  }
  const int64_t rows = matrix.rows;
  const int64_t cols = matrix.cols;
  if (static_cast<int64_t>(x.size()) != positions * cols ||
      static_cast<int64_t>(y.size()) != positions * rows) {
    return Fail(ErrorCode::kInvalidArgument,
                "matrix " + matrix.name + ": x or y does not hold " + std::to_string(positions) +
                    " positions");
  }
  const float* w = found->second.data();
  // A batch shares each weight row while it is in cache; below ~64k
  // multiply-adds a thread costs more than it saves.
  const int threads = rows * cols * positions < (1 << 16) ? 1 : threads_;
  ParallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = w + r * cols;
      for (int64_t p = 0; p < positions; ++p) y[p * rows + r] = Dot(row, x.data() + p * cols, cols);
    }
  });
  return {};
}

}  // namespace kpolicy::model
