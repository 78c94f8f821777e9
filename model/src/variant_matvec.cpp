#include "kpolicy/model/variant_matvec.h"

#include <atomic>
#include <cstring>

#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/ggml_decode.h"
#include "kpolicy/kernels/gguf.h"
#include "parallel_for.h"

namespace kpolicy::model {
namespace {

using kernels::WeightFormat;
using kernels::WeightView;

Status CheckGemvFormat(WeightFormat format) {
  if (format == WeightFormat::kQ4K || format == WeightFormat::kQ6K) return {};
  return Fail(ErrorCode::kInvalidArgument,
              "a GEMV variant runs Q4_K or Q6_K matrices, not " + std::string(kernels::WeightFormatName(format)));
}

// The matrices the decoder multiplies by: every layer's and the output
// projection (token_embd itself when tied). An untied token_embd is only
// looked up, never multiplied, so it is not among them.
std::vector<const Matrix*> ProductMatrices(const ModelWeights& weights) {
  std::vector<const Matrix*> out;
  for (const LayerWeights& l : weights.layers()) {
    for (const Matrix* m : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      out.push_back(m);
    }
  }
  out.push_back(&weights.output());
  return out;
}

// `matrix` decoded and requantised to `format`, rows split over threads
// (rows are independent in both the GGUF and the target layout, so the
// slices' bytes concatenated are the whole matrix's).
Expected<kernels::WeightMatrix> RequantizeOne(const Matrix& matrix, WeightFormat format, int threads) {
  const int64_t padded = (matrix.cols + kernels::kSuperBlockSize - 1) / kernels::kSuperBlockSize *
                         kernels::kSuperBlockSize;
  const int64_t row_bytes = kernels::RowBytes(format, padded);
  kernels::WeightMatrix out{format, matrix.rows, padded, std::vector<uint8_t>(size_t(matrix.rows * row_bytes))};
  // A few thousand rows per part at least: below that a thread costs more
  // than the slice's work.
  const int parts = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(1, matrix.rows / 2048)));
  std::vector<std::optional<Error>> errors(static_cast<size_t>(parts));
  std::atomic<int> next_error{0};
  ParallelFor(matrix.rows, parts, [&](int64_t begin, int64_t end) {
    std::vector<float> values(static_cast<size_t>((end - begin) * matrix.cols));
    Status decoded = kernels::DecodeRows(matrix.tensor, begin, end - begin, values);
    Expected<kernels::WeightMatrix> slice =
        decoded.ok() ? kernels::RequantizeMatrix(format, values, end - begin, matrix.cols)
                     : Expected<kernels::WeightMatrix>(Fail(std::move(decoded).error()));
    if (!slice.ok()) {
      errors[size_t(next_error++)] = std::move(slice).error();
      return;
    }
    std::memcpy(out.bytes.data() + begin * row_bytes, slice->bytes.data(), slice->bytes.size());
  });
  if (next_error > 0) {
    Error error = std::move(*errors[0]);
    error.message = "requantising " + matrix.name + ": " + error.message;
    return Fail(std::move(error));
  }
  return out;
}

}  // namespace

GemvFunction CpuEmulation(kernels::Arithmetic arithmetic) {
  if (arithmetic == kernels::Arithmetic::kDp4aQ8_1) {
    return [](const WeightView& w, std::span<const float> x, int64_t m) { return kernels::EmulateDp4aPath(w, x, m); };
  }
  return [](const WeightView& w, std::span<const float> x, int64_t m) { return kernels::EmulateFloatPath(w, x, m); };
}

Expected<FormatMatrices> FormatMatrices::AsStored(const ModelWeights& weights, WeightFormat format) {
  KPOLICY_TRY(CheckGemvFormat(format));
  FormatMatrices set(format);
  for (const Matrix* matrix : ProductMatrices(weights)) {
    if (kernels::WeightFormatFor(matrix->type()) != format) continue;
    const WeightView view{format, matrix->rows, matrix->cols, matrix->tensor.bytes};
    if (matrix->cols % kernels::kSuperBlockSize != 0 ||
        static_cast<int64_t>(view.bytes.size()) != matrix->rows * kernels::RowBytes(format, matrix->cols)) {
      return Fail(ErrorCode::kInvalidInput, weights.file() + ": tensor " + matrix->name +
                                                " does not hold whole rows of 256-weight blocks");
    }
    set.views_.emplace(matrix->name, view);
    set.weight_count_ += matrix->rows * matrix->cols;
  }
  return set;
}

Expected<FormatMatrices> FormatMatrices::Requantized(const ModelWeights& weights, WeightFormat format,
                                                     int threads) {
  KPOLICY_TRY(CheckGemvFormat(format));
  threads = ResolveThreads(threads);
  FormatMatrices set(format);
  set.requantized_ = true;
  const std::vector<const Matrix*> matrices = ProductMatrices(weights);
  set.owned_.reserve(matrices.size());
  for (const Matrix* matrix : matrices) {
    Expected<kernels::WeightMatrix> requantized = RequantizeOne(*matrix, format, threads);
    if (!requantized.ok()) {
      Error error = std::move(requantized).error();
      error.message = weights.file() + ": " + error.message;
      return Fail(std::move(error));
    }
    set.owned_.push_back(std::move(*requantized));
    set.views_.emplace(matrix->name, set.owned_.back().view());
    set.weight_count_ += matrix->rows * matrix->cols;
  }
  return set;
}

const WeightView* FormatMatrices::Find(const std::string& name) const {
  auto found = views_.find(name);
  return found == views_.end() ? nullptr : &found->second;
}

Expected<ReferenceMatVec> RequantizedReference(const ModelWeights& weights, const FormatMatrices& matrices,
                                               int threads) {
  return ReferenceMatVec::Create(weights, threads, [&matrices](const Matrix& matrix) -> Expected<std::vector<float>> {
    const WeightView* view = matrices.Find(matrix.name);
    if (view == nullptr) return kernels::DecodeTensor(matrix.tensor);
    const std::vector<float> padded = kernels::DequantizeAll(*view);
    if (view->cols == matrix.cols) return padded;
    std::vector<float> values(static_cast<size_t>(matrix.rows * matrix.cols));
    for (int64_t r = 0; r < matrix.rows; ++r) {
      std::memcpy(values.data() + r * matrix.cols, padded.data() + r * view->cols,
                  static_cast<size_t>(matrix.cols) * sizeof(float));
    }
    return values;
  });
}

VariantMatVec::VariantMatVec(const FormatMatrices& matrices, GemvFunction gemv, MatVec& others, int threads)
    : matrices_(matrices), gemv_(std::move(gemv)), others_(others), threads_(ResolveThreads(threads)) {}

Status VariantMatVec::Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
                            std::span<double> y) {
  const WeightView* view = matrices_.Find(matrix.name);
  if (view == nullptr) return others_.Apply(matrix, x, positions, y);
  const int64_t rows = matrix.rows, cols = matrix.cols, padded = view->cols;
  if (static_cast<int64_t>(x.size()) != positions * cols || static_cast<int64_t>(y.size()) != positions * rows) {
    return Fail(ErrorCode::kInvalidArgument,
                "matrix " + matrix.name + ": x or y does not hold " + std::to_string(positions) + " positions");
  }
  // double -> float at the kernel's input; the padded columns are zero.
  std::vector<float> x_float(static_cast<size_t>(positions * padded), 0.0f);
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t c = 0; c < cols; ++c) x_float[p * padded + c] = static_cast<float>(x[p * cols + c]);
  }
  const int64_t row_bytes = kernels::RowBytes(view->format, padded);
  // Same threshold as the reference: below ~64k multiply-adds one thread.
  const int threads = rows * padded * positions < (1 << 16) ? 1 : threads_;
  std::atomic<bool> wrong_size{false};
  ParallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    WeightView slice = *view;
    slice.rows = end - begin;
    slice.bytes = view->bytes.subspan(static_cast<size_t>(begin * row_bytes), static_cast<size_t>(slice.rows * row_bytes));
    const std::vector<float> out = gemv_(slice, x_float, positions);
    if (static_cast<int64_t>(out.size()) != positions * slice.rows) {
      wrong_size = true;
      return;
    }
    for (int64_t p = 0; p < positions; ++p) {
      for (int64_t r = 0; r < slice.rows; ++r) y[p * rows + begin + r] = out[p * slice.rows + r];
    }
  });
  if (wrong_size) {
    return Fail(ErrorCode::kInvalidArgument, "matrix " + matrix.name + ": the variant did not return " +
                                                 std::to_string(positions) + " x " + std::to_string(rows) + " values");
  }
  ++variant_calls_;
  variant_multiply_adds_ += positions * rows * cols;
  return {};
}

}  // namespace kpolicy::model
