#include <algorithm>
#include <cassert>
#include <cmath>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/half.h"
#include "rounding.h"

namespace kpolicy::kernels {

namespace {

constexpr int kSubBlocks = 16;
constexpr int kSubBlockSize = 16;
constexpr int kHalfRange = 32;  // codes -32..31

// Fits x ~ scale * q, q in -32..31, for one 16-weight sub-block; returns the
// scale (0 for an all-zero sub-block). The extreme value is mapped to -32
// rather than +-31: with the scale's sign chosen that way, the asymmetric
// range gives the largest magnitude one extra level. Then 18 nearby grid
// scales are tried, each with its least-squares scale for the codes it
// gives, weighted by x^2 so that the large weights (those that matter most
// to a dot product) are fitted best.
float FitSubBlock(const float* x) {
  float extreme = 0.0f;
  for (int i = 0; i < kSubBlockSize; ++i) {
    if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
  }
  if (std::fabs(extreme) < 1e-30f) return 0.0f;

  auto fit_for = [&](float inverse_scale, float* sum_lx, float* sum_l2) {
    *sum_lx = 0.0f;
    *sum_l2 = 0.0f;
    for (int i = 0; i < kSubBlockSize; ++i) {
      const int q = std::clamp(RoundToInt(inverse_scale * x[i]), -kHalfRange, kHalfRange - 1);
      const float w = x[i] * x[i];
      *sum_lx += w * x[i] * q;
      *sum_l2 += w * q * q;
    }
  };
  float sum_lx, sum_l2;
  fit_for(-kHalfRange / extreme, &sum_lx, &sum_l2);
  float best_scale = sum_l2 > 0.0f ? sum_lx / sum_l2 : 0.0f;
  // For fixed codes the weighted error is minimised at scale = sum_lx/sum_l2,
  // where it equals const - sum_lx^2/sum_l2; so the best grid point is the
  // one with the largest sum_lx^2/sum_l2.
  float best_gain = best_scale * sum_lx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    fit_for(-(kHalfRange + 0.1f * step) / extreme, &sum_lx, &sum_l2);
    if (sum_l2 > 0.0f && sum_lx * sum_lx > best_gain * sum_l2) {
      best_scale = sum_lx / sum_l2;
      best_gain = best_scale * sum_lx;
    }
  }
  return best_scale;
}

BlockQ6K QuantizeBlock(const float* x) {
  float scales[kSubBlocks];
  float extreme_scale = 0.0f;
  for (int j = 0; j < kSubBlocks; ++j) {
    scales[j] = FitSubBlock(x + j * kSubBlockSize);
    if (std::fabs(scales[j]) > std::fabs(extreme_scale)) extreme_scale = scales[j];
  }
  BlockQ6K block{};
  if (extreme_scale == 0.0f) {
    // All zero: codes of 32 mean 0 whatever d is.
    std::fill(std::begin(block.ql), std::end(block.ql), 0);
    for (uint8_t& byte : block.qh) byte = 0xAA;  // high bits 2 -> code 32
    return block;
  }
  // Sub-block scales as int8 relative to the largest, which gets -128 (the
  // asymmetric int8 range again).
  const float inverse_step = -128.0f / extreme_scale;
  block.d = FloatToHalf(1.0f / inverse_step);
  for (int j = 0; j < kSubBlocks; ++j) {
    block.scales[j] = static_cast<int8_t>(std::min(127, RoundToInt(inverse_step * scales[j])));
  }

  const float d = HalfToFloat(block.d);
  uint8_t codes[kSuperBlockSize];
  for (int j = 0; j < kSubBlocks; ++j) {
    const float scale = d * block.scales[j];
    for (int i = 0; i < kSubBlockSize; ++i) {
      const int k = j * kSubBlockSize + i;
      const int q = scale == 0.0f ? 0
                                  : std::clamp(RoundToInt(x[k] / scale), -kHalfRange, kHalfRange - 1);
      codes[k] = static_cast<uint8_t>(q + kHalfRange);
    }
  }
  for (int half = 0; half < 2; ++half) {
    const uint8_t* c = codes + 128 * half;
    for (int l = 0; l < 32; ++l) {
      block.ql[64 * half + l] = static_cast<uint8_t>((c[l] & 0x0F) | ((c[l + 64] & 0x0F) << 4));
      block.ql[64 * half + 32 + l] = static_cast<uint8_t>((c[l + 32] & 0x0F) | ((c[l + 96] & 0x0F) << 4));
      block.qh[32 * half + l] = static_cast<uint8_t>((c[l] >> 4) | ((c[l + 32] >> 4) << 2) |
                                                     ((c[l + 64] >> 4) << 4) | ((c[l + 96] >> 4) << 6));
    }
  }
  return block;
}

}  // namespace

void QuantizeQ6K(std::span<const float> x, std::span<BlockQ6K> out) {
  assert(x.size() == out.size() * kSuperBlockSize);
  for (size_t b = 0; b < out.size(); ++b) out[b] = QuantizeBlock(x.data() + b * kSuperBlockSize);
}

void DequantizeQ6K(std::span<const BlockQ6K> blocks, std::span<float> out) {
  assert(out.size() == blocks.size() * kSuperBlockSize);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const BlockQ6K& block = blocks[b];
    const float d = HalfToFloat(block.d);
    for (int k = 0; k < kSuperBlockSize; ++k) {
      // d * scale first, then the quant: ggml's order.
      const float scale = d * block.scales[k / kSubBlockSize];
      out[b * kSuperBlockSize + k] = scale * static_cast<float>(Q6KQuant(block, k) - kHalfRange);
    }
  }
}

}  // namespace kpolicy::kernels
