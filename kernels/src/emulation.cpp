#include "kpolicy/kernels/emulation.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/half.h"

namespace kpolicy::kernels {

namespace {

// Dot product of one dequantised weight row with one activation row in the
// float path's order (see FloatPathOptions).
float FloatDot(const float* w, const float* x, int64_t k, const FloatPathOptions& options) {
  const int lanes = options.lanes;
  const int chunk = options.chunk;
  float partial[64] = {};
  assert(lanes >= 1 && lanes <= 64 && (lanes & (lanes - 1)) == 0 && chunk >= 1);
  for (int64_t start = 0, c = 0; start < k; start += chunk, ++c) {
    float& acc = partial[c % lanes];
    const int64_t end = std::min<int64_t>(k, start + chunk);
    // fmaf: nvcc contracts a*b+c into FMA by default, so the GPU rounds once
    // per step, not twice.
    for (int64_t i = start; i < end; ++i) acc = std::fma(w[i], x[i], acc);
  }
  for (int offset = lanes / 2; offset >= 1; offset /= 2) {
    float next[64];
    for (int i = 0; i < lanes; ++i) next[i] = partial[i] + partial[i ^ offset];
    std::memcpy(partial, next, sizeof(float) * lanes);
  }
  return partial[0];
}

template <typename Block>
void LoadBlocks(const WeightView& weights, int64_t row, std::vector<Block>* blocks) {
  const int64_t row_bytes = RowBytes(weights.format, weights.cols);
  blocks->resize(weights.cols / kSuperBlockSize);
  std::memcpy(blocks->data(), weights.bytes.data() + row * row_bytes, row_bytes);
}

}  // namespace

std::vector<float> EmulateFloatPath(const WeightView& weights, std::span<const float> x, int64_t m,
                                    const FloatPathOptions& options) {
  const int64_t n_out = weights.rows, k = weights.cols;
  assert(m >= 1 && static_cast<int64_t>(x.size()) == m * k);
  std::vector<float> y(m * n_out);
  std::vector<float> w(k);
  // FP8 kernels multiply the raw codes' values and scale the sum, so the
  // row is decoded without the scale here and the scale applied after.
  const bool is_fp8 = weights.format == WeightFormat::kFp8E4M3;
  WeightView unscaled = weights;
  if (is_fp8) unscaled.scale = 1.0f;
  for (int64_t n = 0; n < n_out; ++n) {
    DequantizeRow(unscaled, n, w);
    for (int64_t r = 0; r < m; ++r) {
      float sum = FloatDot(w.data(), x.data() + r * k, k, options);
      if (is_fp8) sum *= weights.scale;
      y[r * n_out + n] = sum;
    }
  }
  return y;
}

bool SupportsDp4a(WeightFormat format) {
  return format == WeightFormat::kQ4K || format == WeightFormat::kQ6K;
}

float DotQ4KQ8_1(const BlockQ4K& weights, std::span<const BlockQ8_1, 8> activations,
                 Q4KMinTerm min_term) {
  float sum_d = 0.0f, sum_m = 0.0f;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    Q4KScaleMin(weights, j, &sc, &m);
    const BlockQ8_1& a = activations[j];
    int32_t isum = 0, qsum = 0;
    for (int i = 0; i < 32; ++i) {
      isum += Q4KQuant(weights, j * 32 + i) * a.qs[i];
      qsum += a.qs[i];
    }
    const float d8 = HalfToFloat(a.d);
    sum_d += d8 * static_cast<float>(isum * sc);
    if (min_term == Q4KMinTerm::kQ8Sum) {
      sum_m += Bf16ToFloat(a.s) * m;
    } else {
      sum_m += d8 * static_cast<float>(qsum * m);
    }
  }
  return HalfToFloat(weights.d) * sum_d - HalfToFloat(weights.dmin) * sum_m;
}

float DotQ6KQ8_1(const BlockQ6K& weights, std::span<const BlockQ8_1, 8> activations) {
  float sum = 0.0f;
  for (int j = 0; j < 16; ++j) {
    const BlockQ8_1& a = activations[j / 2];
    int32_t isum = 0;
    for (int i = 0; i < 16; ++i) {
      const int k = j * 16 + i;
      isum += (Q6KQuant(weights, k) - 32) * a.qs[(j % 2) * 16 + i];
    }
    sum += HalfToFloat(a.d) * static_cast<float>(isum * weights.scales[j]);
  }
  return HalfToFloat(weights.d) * sum;
}

std::vector<BlockQ8_1> QuantizeActivations(std::span<const float> x, int64_t m, int64_t k,
                                           Q8SumSource sum_source) {
  assert(static_cast<int64_t>(x.size()) == m * k && k % kQ8BlockSize == 0);
  std::vector<BlockQ8_1> blocks(m * k / kQ8BlockSize);
  QuantizeQ8_1(x, blocks, sum_source);
  return blocks;
}

std::vector<float> Dp4aGemv(const WeightView& weights, std::span<const BlockQ8_1> activations,
                            int64_t m, Q4KMinTerm min_term) {
  assert(SupportsDp4a(weights.format));
  const int64_t n_out = weights.rows, k = weights.cols;
  const int64_t q8_per_row = k / kQ8BlockSize;
  const int64_t super_blocks = k / kSuperBlockSize;
  assert(static_cast<int64_t>(activations.size()) == m * q8_per_row);
  std::vector<float> y(m * n_out);
  std::vector<BlockQ4K> q4;
  std::vector<BlockQ6K> q6;
  for (int64_t n = 0; n < n_out; ++n) {
    if (weights.format == WeightFormat::kQ4K) {
      LoadBlocks(weights, n, &q4);
    } else {
      LoadBlocks(weights, n, &q6);
    }
    for (int64_t r = 0; r < m; ++r) {
      float sum = 0.0f;
      for (int64_t b = 0; b < super_blocks; ++b) {
        std::span<const BlockQ8_1, 8> a(activations.data() + r * q8_per_row + b * 8, 8);
        sum += weights.format == WeightFormat::kQ4K ? DotQ4KQ8_1(q4[b], a, min_term)
                                                    : DotQ6KQ8_1(q6[b], a);
      }
      y[r * n_out + n] = sum;
    }
  }
  return y;
}

std::vector<float> EmulateDp4aPath(const WeightView& weights, std::span<const float> x, int64_t m,
                                   const Dp4aOptions& options) {
  const std::vector<BlockQ8_1> q8 = QuantizeActivations(x, m, weights.cols, options.sum_source);
  return Dp4aGemv(weights, q8, m, options.min_term);
}

std::vector<float> EmulateFp8Path(const WeightView& weights, std::span<const float> x, int64_t m) {
  assert(weights.format == WeightFormat::kFp8E4M3);
  const int64_t n_out = weights.rows, k = weights.cols;
  assert(static_cast<int64_t>(x.size()) == m * k);
  const Fp8Tensor xq = QuantizeFp8PerTensor(x);
  std::vector<float> x_decoded(xq.codes.size());
  DequantizeFp8(xq.codes, 1.0f, x_decoded);
  std::vector<float> y(m * n_out);
  const float combined_scale = weights.scale * xq.scale;
  for (int64_t n = 0; n < n_out; ++n) {
    const uint8_t* codes = weights.bytes.data() + n * k;
    for (int64_t r = 0; r < m; ++r) {
      float sum = 0.0f;
      for (int64_t i = 0; i < k; ++i) {
        sum = std::fma(Fp8E4M3ToFloat(codes[i]), x_decoded[r * k + i], sum);
      }
      y[r * n_out + n] = sum * combined_scale;
    }
  }
  return y;
}

}  // namespace kpolicy::kernels
