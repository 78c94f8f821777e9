#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/half.h"
#include "rounding.h"

namespace kpolicy::kernels {

namespace {

constexpr int kSubBlocks = 8;
constexpr int kSubBlockSize = 32;
constexpr int kMaxQuant = 15;
constexpr int kMaxScaleCode = 63;

// x ~ scale * q - min, q in 0..15, fitted for one sub-block.
struct AffineFit {
  float scale = 0.0f;
  float min = 0.0f;  // >= 0: GGUF stores the offset as a non-negative min
};

float WeightedError(const float* x, const float* w, const uint8_t* q, float scale, float offset) {
  float error = 0.0f;
  for (int i = 0; i < kSubBlockSize; ++i) {
    const float diff = scale * q[i] + offset - x[i];
    error += w[i] * diff * diff;
  }
  return error;
}

void CodesFor(const float* x, float inverse_scale, float offset, uint8_t* q) {
  for (int i = 0; i < kSubBlockSize; ++i) {
    q[i] = static_cast<uint8_t>(std::clamp(RoundToInt(inverse_scale * (x[i] - offset)), 0, kMaxQuant));
  }
}

// Tries 21 grid scales around 15/(max-min); for each, fixes the codes and
// solves the 2x2 weighted least-squares problem for (scale, offset), keeping
// the offset <= 0 so that the zero point stays representable (Q4_K cannot
// store a positive offset). Plain min/max scaling wastes levels on the tails
// of a Gaussian; the search moves about 10% of RMS error off the result.
AffineFit FitSubBlock(const float* x, const float* w) {
  float lo = *std::min_element(x, x + kSubBlockSize);
  const float hi = *std::max_element(x, x + kSubBlockSize);
  if (lo > 0.0f) lo = 0.0f;
  if (hi == lo) return {0.0f, -lo};

  float sum_w = 0.0f, sum_x = 0.0f;
  for (int i = 0; i < kSubBlockSize; ++i) {
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  uint8_t q[kSubBlockSize];
  float best_scale = (hi - lo) / kMaxQuant;
  float best_offset = lo;
  CodesFor(x, 1.0f / best_scale, lo, q);
  float best_error = WeightedError(x, w, q, best_scale, best_offset);

  constexpr int kSteps = 20;
  for (int step = 0; step <= kSteps; ++step) {
    const float inverse_scale = (kMaxQuant - 1.0f + 0.1f * step) / (hi - lo);
    CodesFor(x, inverse_scale, lo, q);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < kSubBlockSize; ++i) {
      sum_l += w[i] * q[i];
      sum_l2 += w[i] * q[i] * q[i];
      sum_xl += w[i] * q[i] * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (offset > 0.0f) {
      offset = 0.0f;
      scale = sum_xl / sum_l2;
    }
    const float error = WeightedError(x, w, q, scale, offset);
    if (error < best_error) {
      best_error = error;
      best_scale = scale;
      best_offset = offset;
    }
  }
  return {best_scale, -best_offset};
}

void PackScaleMin(int j, uint8_t scale, uint8_t min, uint8_t* packed) {
  if (j < 4) {
    packed[j] = (packed[j] & 0xC0) | scale;
    packed[j + 4] = (packed[j + 4] & 0xC0) | min;
  } else {
    packed[j + 4] = static_cast<uint8_t>((scale & 0x0F) | ((min & 0x0F) << 4));
    packed[j - 4] |= static_cast<uint8_t>((scale >> 4) << 6);
    packed[j] |= static_cast<uint8_t>((min >> 4) << 6);
  }
}

uint8_t SixBitCode(float value, float inverse_step) {
  return static_cast<uint8_t>(std::min(kMaxScaleCode, RoundToInt(inverse_step * value)));
}

BlockQ4K QuantizeBlock(const float* x) {
  std::array<AffineFit, kSubBlocks> fits;
  for (int j = 0; j < kSubBlocks; ++j) {
    const float* sub = x + j * kSubBlockSize;
    float sum_x2 = 0.0f;
    for (int i = 0; i < kSubBlockSize; ++i) sum_x2 += sub[i] * sub[i];
    const float rms = std::sqrt(sum_x2 / kSubBlockSize);
    // Larger weights count more, but never zero: a weight of |x| alone would
    // let the fit ignore values near zero entirely.
    float w[kSubBlockSize];
    for (int i = 0; i < kSubBlockSize; ++i) w[i] = rms + std::fabs(sub[i]);
    fits[j] = FitSubBlock(sub, w);
  }
  float max_scale = 0.0f, max_min = 0.0f;
  for (const AffineFit& fit : fits) {
    max_scale = std::max(max_scale, fit.scale);
    max_min = std::max(max_min, fit.min);
  }

  BlockQ4K block{};
  const float inverse_scale_step = max_scale > 0.0f ? kMaxScaleCode / max_scale : 0.0f;
  const float inverse_min_step = max_min > 0.0f ? kMaxScaleCode / max_min : 0.0f;
  uint8_t scale_codes[kSubBlocks], min_codes[kSubBlocks];
  for (int j = 0; j < kSubBlocks; ++j) {
    scale_codes[j] = SixBitCode(fits[j].scale, inverse_scale_step);
    min_codes[j] = SixBitCode(fits[j].min, inverse_min_step);
    PackScaleMin(j, scale_codes[j], min_codes[j], block.scales);
  }
  block.d = FloatToHalf(max_scale / kMaxScaleCode);
  block.dmin = FloatToHalf(max_min / kMaxScaleCode);

  // The codes are chosen against the scales as a reader will see them, after
  // both the 6-bit and the fp16 rounding, not against the fitted ones.
  const float d = HalfToFloat(block.d);
  const float dmin = HalfToFloat(block.dmin);
  uint8_t codes[kSuperBlockSize] = {};
  for (int j = 0; j < kSubBlocks; ++j) {
    const float scale = d * scale_codes[j];
    if (scale == 0.0f) continue;
    const float min = dmin * min_codes[j];
    for (int i = 0; i < kSubBlockSize; ++i) {
      const int k = j * kSubBlockSize + i;
      codes[k] = static_cast<uint8_t>(std::clamp(RoundToInt((x[k] + min) / scale), 0, kMaxQuant));
    }
  }
  for (int group = 0; group < 4; ++group) {
    for (int l = 0; l < 32; ++l) {
      block.qs[group * 32 + l] =
          static_cast<uint8_t>(codes[group * 64 + l] | (codes[group * 64 + 32 + l] << 4));
    }
  }
  return block;
}

}  // namespace

void KQuantScaleMin(const uint8_t (&scales)[12], int j, uint8_t* scale, uint8_t* min) {
  const uint8_t* q = scales;
  if (j < 4) {
    *scale = q[j] & 0x3F;
    *min = q[j + 4] & 0x3F;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void QuantizeQ4K(std::span<const float> x, std::span<BlockQ4K> out) {
  assert(x.size() == out.size() * kSuperBlockSize);
  for (size_t b = 0; b < out.size(); ++b) out[b] = QuantizeBlock(x.data() + b * kSuperBlockSize);
}

void DequantizeQ4K(std::span<const BlockQ4K> blocks, std::span<float> out) {
  assert(out.size() == blocks.size() * kSuperBlockSize);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const BlockQ4K& block = blocks[b];
    const float d = HalfToFloat(block.d);
    const float dmin = HalfToFloat(block.dmin);
    for (int j = 0; j < kSubBlocks; ++j) {
      uint8_t sc, m;
      Q4KScaleMin(block, j, &sc, &m);
      // The same two products, in the same order, as ggml's dequantize_row_q4_K.
      const float scale = d * sc;
      const float min = dmin * m;
      for (int i = 0; i < kSubBlockSize; ++i) {
        const int k = j * kSubBlockSize + i;
        out[b * kSuperBlockSize + k] = scale * Q4KQuant(block, k) - min;
      }
    }
  }
}

}  // namespace kpolicy::kernels
