#include <algorithm>
#include <cassert>
#include <cmath>

#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/half.h"
#include "rounding.h"

namespace kpolicy::kernels {

void QuantizeQ8_1(std::span<const float> x, std::span<BlockQ8_1> out, Q8SumSource sum_source) {
  assert(x.size() == out.size() * kQ8BlockSize);
  for (size_t b = 0; b < out.size(); ++b) {
    const float* v = x.data() + b * kQ8BlockSize;
    float absmax = 0.0f;
    for (int i = 0; i < kQ8BlockSize; ++i) absmax = std::fmax(absmax, std::fabs(v[i]));
    // The quants use the float d, not its fp16 rounding, as ggml does; so a
    // value's reconstruction error is up to d/2 plus 127 * (d - fp16(d)).
    // d saturates at fp16's largest finite value: past absmax = 65504 * 127
    // (~8.3e6) an fp16 d would be inf and the whole block inf or NaN. Held
    // there, the quants saturate at +-127 instead (clamped before rounding,
    // which changes nothing below the limit, where |x / d| <= 127 up to one
    // float rounding), so the block's largest values are clipped to ~8.3e6:
    // wrong for such a block, but finite.
    const float d = std::fmin(absmax / 127.0f, kMaxFiniteHalf);
    const float inverse_d = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_1& block = out[b];
    int quant_sum = 0;
    float float_sum = 0.0f;
    for (int i = 0; i < kQ8BlockSize; ++i) {
      block.qs[i] = static_cast<int8_t>(RoundToInt(std::fmax(-127.0f, std::fmin(v[i] * inverse_d, 127.0f))));
      quant_sum += block.qs[i];
      float_sum += v[i];
    }
    block.d = FloatToHalf(d);
    // bf16, not fp16: |s| reaches 32 * absmax, beyond 65504 for blocks of
    // values above ~2047 (the fp16-overflow-sum workload), while bf16 has
    // float's range; |d * quant_sum| <= 65504 * 4064 ~ 2.7e8 always fits.
    block.s = FloatToBf16(sum_source == Q8SumSource::kQuantSum ? d * static_cast<float>(quant_sum)
                                                               : float_sum);
  }
}

void DequantizeQ8_1(std::span<const BlockQ8_1> blocks, std::span<float> out) {
  assert(out.size() == blocks.size() * kQ8BlockSize);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const float d = HalfToFloat(blocks[b].d);
    for (int i = 0; i < kQ8BlockSize; ++i) out[b * kQ8BlockSize + i] = d * blocks[b].qs[i];
  }
}

}  // namespace kpolicy::kernels
