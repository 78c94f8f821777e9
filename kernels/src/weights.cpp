#include "kpolicy/kernels/weights.h"

#include <cassert>
#include <cstring>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/half.h"

namespace kpolicy::kernels {

std::string_view WeightFormatName(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return "F32";
    case WeightFormat::kF16: return "F16";
    case WeightFormat::kFp8E4M3: return "FP8_E4M3";
    case WeightFormat::kQ4K: return "Q4_K";
    case WeightFormat::kQ6K: return "Q6_K";
  }
  return "?";
}

int64_t FormatBlockSize(WeightFormat format) {
  switch (format) {
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K: return kSuperBlockSize;
    default: return 1;
  }
}

int64_t RowBytes(WeightFormat format, int64_t cols) {
  switch (format) {
    case WeightFormat::kF32: return cols * 4;
    case WeightFormat::kF16: return cols * 2;
    case WeightFormat::kFp8E4M3: return cols;
    case WeightFormat::kQ4K: return cols / kSuperBlockSize * static_cast<int64_t>(sizeof(BlockQ4K));
    case WeightFormat::kQ6K: return cols / kSuperBlockSize * static_cast<int64_t>(sizeof(BlockQ6K));
  }
  return 0;
}

std::optional<int64_t> MatrixBytes(WeightFormat format, int64_t rows, int64_t cols) {
  const int64_t block = FormatBlockSize(format);
  if (rows < 0 || cols < 0 || cols % block != 0) return std::nullopt;
  // Bytes per block: the element size, or the block struct's size.
  const int64_t block_bytes = RowBytes(format, block);
  int64_t row_bytes = 0, bytes = 0;
  if (__builtin_mul_overflow(cols / block, block_bytes, &row_bytes) ||
      __builtin_mul_overflow(rows, row_bytes, &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

WeightMatrix QuantizeWeights(WeightFormat format, std::span<const float> values, int64_t rows,
                             int64_t cols) {
  assert(static_cast<int64_t>(values.size()) == rows * cols);
  assert(cols % FormatBlockSize(format) == 0);
  WeightMatrix m{format, rows, cols, std::vector<uint8_t>(rows * RowBytes(format, cols)), 1.0f};
  switch (format) {
    case WeightFormat::kF32:
      if (!values.empty()) std::memcpy(m.bytes.data(), values.data(), m.bytes.size());
      break;
    case WeightFormat::kF16:
      for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = FloatToHalf(values[i]);
        std::memcpy(m.bytes.data() + 2 * i, &h, 2);
      }
      break;
    case WeightFormat::kFp8E4M3: {
      Fp8Tensor t = QuantizeFp8PerTensor(values);
      m.bytes = std::move(t.codes);
      m.scale = t.scale;
      break;
    }
    case WeightFormat::kQ4K: {
      std::vector<BlockQ4K> blocks(values.size() / kSuperBlockSize);
      QuantizeQ4K(values, blocks);
      if (!blocks.empty()) std::memcpy(m.bytes.data(), blocks.data(), m.bytes.size());
      break;
    }
    case WeightFormat::kQ6K: {
      std::vector<BlockQ6K> blocks(values.size() / kSuperBlockSize);
      QuantizeQ6K(values, blocks);
      if (!blocks.empty()) std::memcpy(m.bytes.data(), blocks.data(), m.bytes.size());
      break;
    }
  }
  return m;
}

void DequantizeRow(const WeightView& weights, int64_t row, std::span<float> out) {
  assert(row >= 0 && row < weights.rows);
  assert(static_cast<int64_t>(out.size()) == weights.cols);
  const int64_t row_bytes = RowBytes(weights.format, weights.cols);
  const uint8_t* src = weights.bytes.data() + row * row_bytes;
  const int64_t k = weights.cols;
  switch (weights.format) {
    case WeightFormat::kF32:
      std::memcpy(out.data(), src, k * 4);
      break;
    case WeightFormat::kF16:
      for (int64_t i = 0; i < k; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = HalfToFloat(h);
      }
      break;
    case WeightFormat::kFp8E4M3:
      DequantizeFp8({src, static_cast<size_t>(k)}, weights.scale, out);
      break;
    case WeightFormat::kQ4K: {
      // memcpy into aligned blocks: the borrowed bytes may sit at any offset
      // of a file buffer, and reading them through a struct pointer would be
      // both misaligned and an aliasing violation.
      std::vector<BlockQ4K> blocks(k / kSuperBlockSize);
      std::memcpy(blocks.data(), src, row_bytes);
      DequantizeQ4K(blocks, out);
      break;
    }
    case WeightFormat::kQ6K: {
      std::vector<BlockQ6K> blocks(k / kSuperBlockSize);
      std::memcpy(blocks.data(), src, row_bytes);
      DequantizeQ6K(blocks, out);
      break;
    }
  }
}

std::vector<float> DequantizeAll(const WeightView& weights) {
  std::vector<float> out(weights.rows * weights.cols);
  for (int64_t n = 0; n < weights.rows; ++n) {
    DequantizeRow(weights, n, std::span<float>(out).subspan(n * weights.cols, weights.cols));
  }
  return out;
}

}  // namespace kpolicy::kernels
