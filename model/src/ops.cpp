#include "kpolicy/model/ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace kpolicy::model {

void RmsNorm(std::span<double> x, std::span<const double> weight, double eps) {
  double sum_squares = 0;
  for (double v : x) sum_squares += v * v;
  const double inv = 1.0 / std::sqrt(sum_squares / static_cast<double>(x.size()) + eps);
  for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] * inv * weight[i];
}

void ApplyRope(std::span<double> head, double position, const RopeParams& params) {
  const int64_t half = params.n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    double theta = position * std::pow(params.base, -2.0 * static_cast<double>(i) /
                                                         static_cast<double>(params.n_rot));
    if (!params.freq_factors.empty()) theta /= params.freq_factors[static_cast<size_t>(i)];
    const double c = std::cos(theta);
    const double s = std::sin(theta);
    const size_t a = params.style == RopeStyle::kAdjacentPairs ? static_cast<size_t>(2 * i)
                                                               : static_cast<size_t>(i);
    const size_t b = params.style == RopeStyle::kAdjacentPairs ? a + 1 : static_cast<size_t>(i + half);
    const double x0 = head[a];
    const double x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

double Silu(double x) { return x / (1.0 + std::exp(-x)); }

double GeluTanh(double x) {
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

void AttendHead(std::span<const double> q, const double* keys, int64_t key_stride,
                const double* values, int64_t value_stride, int64_t first, int64_t last,
                double scale, std::span<double> out) {
  std::vector<double> weights(static_cast<size_t>(last - first + 1));
  double max_score = -INFINITY;
  for (int64_t j = first; j <= last; ++j) {
    const double* k = keys + j * key_stride;
    double dot = 0;
    for (size_t d = 0; d < q.size(); ++d) dot += q[d] * k[d];
    weights[static_cast<size_t>(j - first)] = dot * scale;
    max_score = std::max(max_score, dot * scale);
  }
  double total = 0;
  for (double& w : weights) {
    w = std::exp(w - max_score);
    total += w;
  }
  std::fill(out.begin(), out.end(), 0.0);
  for (int64_t j = first; j <= last; ++j) {
    const double w = weights[static_cast<size_t>(j - first)] / total;
    const double* v = values + j * value_stride;
    for (size_t d = 0; d < out.size(); ++d) out[d] += w * v[d];
  }
}

}  // namespace kpolicy::model
