// MatVec: the one operation through which the decoder multiplies by a
// weight matrix, y = W x, for one position or a batch of positions at once.
// The decoder (decoder.h) owns the rest of the arithmetic in fp64; what a
// MatVec does is where implementations differ: the CPU fp64 reference here,
// a kernel variant's CPU emulation, or a GPU path running the kernels the
// runtime dispatched. Each call names the Matrix (tensor name, ggml type,
// raw bytes), so an implementation can treat matrices differently, e.g.
// send every Q4_K/Q6_K matrix through one variant and the rest to the
// reference (RoutedMatVec).
//
// Thread-safety: a MatVec is used by one decoder at a time; Apply is not
// required to be safe to call concurrently.
#ifndef KPOLICY_MODEL_MATVEC_H_
#define KPOLICY_MODEL_MATVEC_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/model/model_weights.h"

namespace kpolicy::model {

class MatVec {
 public:
  virtual ~MatVec() = default;

  // y[p * rows + r] = sum_c W[r][c] * x[p * cols + c] for p in [0, positions).
  // Preconditions: x.size() == positions * matrix.cols, y.size() ==
  // positions * matrix.rows. Errors: the implementation cannot run this
  // matrix (e.g. its type), or a device failure.
  virtual Status Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
                       std::span<double> y) = 0;
};

// The CPU fp64 reference: each matrix decoded once to floats exactly as
// ggml's dequantisers give them (ggml_decode.h), each output a sum of
// double products in column order. Rows are split over `threads` threads;
// every row is summed by one thread in one fixed order, so results are
// bit-identical whatever the thread count.
//
// Cost: 4 bytes of memory per weight; Create decodes every matrix (about a
// second for a 270M-parameter model on two cores); Apply reads each weight
// once per call, whatever the batch size.
class ReferenceMatVec final : public MatVec {
 public:
  // threads <= 0: std::thread::hardware_concurrency(). Errors: a matrix that
  // does not decode (names it).
  static Expected<ReferenceMatVec> Create(const ModelWeights& weights, int threads = 0);

  // The same arithmetic over other weights: `decode` gives each matrix's
  // rows x cols floats, row-major (e.g. a requantised copy's, see
  // RequantizedReference in variant_matvec.h). It is called concurrently
  // for different matrices. Errors: decode's, or a result of another size.
  using DecodeMatrix = std::function<Expected<std::vector<float>>(const Matrix& matrix)>;
  static Expected<ReferenceMatVec> Create(const ModelWeights& weights, int threads, const DecodeMatrix& decode);

  Status Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
               std::span<double> y) override;

  int threads() const { return threads_; }

 private:
  ReferenceMatVec(int threads) : threads_(threads) {}

  std::unordered_map<std::string, std::vector<float>> decoded_;  // by tensor name
  int threads_;
};

// Sends each matrix to `selected` when `select(matrix)` says so, else to
// `fallback`: e.g. select = "type is Q4_K or Q6_K" and selected = a
// variant's emulation, to measure that variant inside a real model with the
// other matrices at the reference. Both MatVecs are borrowed.
class RoutedMatVec final : public MatVec {
 public:
  RoutedMatVec(std::function<bool(const Matrix&)> select, MatVec& selected, MatVec& fallback)
      : select_(std::move(select)), selected_(selected), fallback_(fallback) {}

  Status Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
               std::span<double> y) override {
    return (select_(matrix) ? selected_ : fallback_).Apply(matrix, x, positions, y);
  }

 private:
  std::function<bool(const Matrix&)> select_;
  MatVec& selected_;
  MatVec& fallback_;
};

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_MATVEC_H_
