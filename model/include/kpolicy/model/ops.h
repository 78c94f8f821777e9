// The elementwise and per-head operations of the decoder, in fp64, as
// separate functions so that each can be checked on its own: RMSNorm,
// RoPE in both pairings, the two gated activations, and one head's causal
// (optionally sliding-window) softmax attention over a KV cache.
//
// Thread-safety: pure functions on caller-owned buffers.
#ifndef KPOLICY_MODEL_OPS_H_
#define KPOLICY_MODEL_OPS_H_

#include <cstdint>
#include <span>

#include "kpolicy/model/config.h"

namespace kpolicy::model {

// x[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]. weight.size() == x.size().
// (Gemma's "1 + weight" is already folded into the GGUF weights by
// llama.cpp's converter, so both architectures use this one form.)
void RmsNorm(std::span<double> x, std::span<const double> weight, double eps);

struct RopeParams {
  int64_t n_rot = 0;           // rotated dimensions (the first n_rot of the head)
  double base = 10000.0;       // theta_i = position * base^(-2i / n_rot) / freq_factor_i
  RopeStyle style = RopeStyle::kAdjacentPairs;
  std::span<const double> freq_factors;  // n_rot / 2 values, or empty for all 1
};

// Rotates pair i of `head` by theta_i (pairs as `style` says); the
// dimensions from n_rot on are left as they are. position may be
// fractional (linear rope scaling).
void ApplyRope(std::span<double> head, double position, const RopeParams& params);

double Silu(double x);      // x / (1 + e^-x)
double GeluTanh(double x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), ggml_gelu's form

// One query head against cached keys and values at positions
// [first, last] (inclusive): out = sum_j softmax_j(scale * q . k_j) v_j.
// keys[j * key_stride ...] holds k_j (q.size() values), values[j *
// value_stride ...] holds v_j (out.size() values).
void AttendHead(std::span<const double> q, const double* keys, int64_t key_stride,
                const double* values, int64_t value_stride, int64_t first, int64_t last,
                double scale, std::span<double> out);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_OPS_H_
