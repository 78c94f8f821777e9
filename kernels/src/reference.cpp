#include "kpolicy/kernels/reference.h"

#include <cassert>
#include <cstring>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/half.h"

namespace kpolicy::kernels {

void ReferenceRow(const WeightView& weights, int64_t row, std::span<double> out) {
  assert(row >= 0 && row < weights.rows);
  assert(static_cast<int64_t>(out.size()) == weights.cols);
  const int64_t k = weights.cols;
  const uint8_t* src = weights.bytes.data() + row * RowBytes(weights.format, k);
  switch (weights.format) {
    case WeightFormat::kF32:
      for (int64_t i = 0; i < k; ++i) {
        float v;
        std::memcpy(&v, src + 4 * i, 4);
        out[i] = v;
      }
      return;
    case WeightFormat::kF16:
      for (int64_t i = 0; i < k; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = HalfToFloat(h);
      }
      return;
    case WeightFormat::kFp8E4M3:
      for (int64_t i = 0; i < k; ++i) {
        out[i] = static_cast<double>(Fp8E4M3ToFloat(src[i])) * weights.scale;
      }
      return;
    case WeightFormat::kQ4K:
      for (int64_t b = 0; b < k / kSuperBlockSize; ++b) {
        BlockQ4K block;
        std::memcpy(&block, src + b * sizeof(BlockQ4K), sizeof block);
        const double d = HalfToFloat(block.d);
        const double dmin = HalfToFloat(block.dmin);
        for (int i = 0; i < kSuperBlockSize; ++i) {
          uint8_t sc, m;
          Q4KScaleMin(block, i / 32, &sc, &m);
          out[b * kSuperBlockSize + i] = d * sc * Q4KQuant(block, i) - dmin * m;
        }
      }
      return;
    case WeightFormat::kQ6K:
      for (int64_t b = 0; b < k / kSuperBlockSize; ++b) {
        BlockQ6K block;
        std::memcpy(&block, src + b * sizeof(BlockQ6K), sizeof block);
        const double d = HalfToFloat(block.d);
        for (int i = 0; i < kSuperBlockSize; ++i) {
          out[b * kSuperBlockSize + i] = d * block.scales[i / 16] * (Q6KQuant(block, i) - 32);
        }
      }
      return;
  }
}

std::vector<double> ReferenceGemv(const WeightView& weights, std::span<const float> x, int64_t m) {
  const int64_t n_out = weights.rows, k = weights.cols;
  assert(m >= 1 && static_cast<int64_t>(x.size()) == m * k);
  std::vector<double> y(m * n_out, 0.0);
  std::vector<double> w(k);
  for (int64_t n = 0; n < n_out; ++n) {
    ReferenceRow(weights, n, w);
    for (int64_t r = 0; r < m; ++r) {
      const float* xr = x.data() + r * k;
      double sum = 0.0;
      for (int64_t i = 0; i < k; ++i) sum += w[i] * xr[i];
      y[r * n_out + n] = sum;
    }
  }
  return y;
}

std::vector<double> ReferenceGemm(std::span<const float> a, std::span<const float> b, int64_t t,
                                  int64_t k, int64_t n) {
  assert(static_cast<int64_t>(a.size()) == t * k && static_cast<int64_t>(b.size()) == k * n);
  std::vector<double> c(t * n, 0.0);
  // i-k-j order: B is read along its rows, so the inner loop is contiguous.
  for (int64_t i = 0; i < t; ++i) {
    double* ci = c.data() + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const double aip = a[i * k + p];
      const float* bp = b.data() + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
  return c;
}

}  // namespace kpolicy::kernels
