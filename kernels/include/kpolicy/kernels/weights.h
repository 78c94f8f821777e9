// A weight matrix W (N rows of K weights, row-major, as GGUF stores a 2-D
// tensor with ne0 = K, ne1 = N) in one of the formats a kernel variant
// reads. WeightView borrows bytes (e.g. from a GGUF file); WeightMatrix owns
// them. Rows are independent: row n's bytes start at n * RowBytes(format, K).
//
// Thread-safety: value types; concurrent const use is safe.
#ifndef KPOLICY_KERNELS_WEIGHTS_H_
#define KPOLICY_KERNELS_WEIGHTS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace kpolicy::kernels {

enum class WeightFormat {
  kF32,      // little-endian IEEE float
  kF16,      // IEEE half
  kFp8E4M3,  // e4m3fn codes; value = decode(code) * WeightView::scale
  kQ4K,      // BlockQ4K, K must be a multiple of 256
  kQ6K,      // BlockQ6K, K must be a multiple of 256
};

std::string_view WeightFormatName(WeightFormat format);

// Weights per block of the format (1 for the element formats).
int64_t FormatBlockSize(WeightFormat format);

// Bytes one row of `cols` weights takes; cols must be a multiple of
// FormatBlockSize(format) and the result must fit in 63 bits (true for any
// matrix in memory). For shapes read from a file, check with MatrixBytes.
int64_t RowBytes(WeightFormat format, int64_t cols);

// Bytes of a rows x cols matrix in `format`, computed with checked
// arithmetic: nullopt when rows or cols is negative, cols is not a multiple
// of the block size, or the product does not fit in 63 bits.
std::optional<int64_t> MatrixBytes(WeightFormat format, int64_t rows, int64_t cols);

struct WeightView {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;  // N: outputs
  int64_t cols = 0;  // K: inputs, the reduction dimension
  std::span<const uint8_t> bytes;  // rows * RowBytes(format, cols) bytes
  float scale = 1.0f;              // FP8 per-tensor scale; 1 for the other formats
};

struct WeightMatrix {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> bytes;
  float scale = 1.0f;

  WeightView view() const { return {format, rows, cols, bytes, scale}; }
};

// Encodes a row-major rows x cols float matrix in `format` with this
// library's quantisers (per-tensor absmax scale for FP8, round-to-nearest
// for F16). Precondition: values.size() == rows * cols and cols is a
// multiple of FormatBlockSize(format).
WeightMatrix QuantizeWeights(WeightFormat format, std::span<const float> values, int64_t rows,
                             int64_t cols);

// Writes row `row` as floats, exactly as the float-activation kernels see it
// (the block dequantisers' arithmetic; FP8 codes times the scale).
void DequantizeRow(const WeightView& weights, int64_t row, std::span<float> out);

// The whole matrix as floats, row-major.
std::vector<float> DequantizeAll(const WeightView& weights);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_WEIGHTS_H_
