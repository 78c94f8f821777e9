#include "kpolicy/kernels/workload.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numbers>
#include <utility>

#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/reference.h"

namespace kpolicy::kernels {

namespace {

// N is the output dimension, K the input: ffn_up maps 4096 -> 14336.
constexpr ModelShape kShapes[] = {
    {"Llama-3-8B", "attn_q", 4096, 4096},
    {"Llama-3-8B", "attn_k", 1024, 4096},
    {"Llama-3-8B", "attn_v", 1024, 4096},
    {"Llama-3-8B", "attn_output", 4096, 4096},
    {"Llama-3-8B", "ffn_gate", 14336, 4096},
    {"Llama-3-8B", "ffn_up", 14336, 4096},
    {"Llama-3-8B", "ffn_down", 4096, 14336},
    {"Llama-3-8B", "output", 128256, 4096},
    {"Qwen2.5-1.5B", "attn_q", 1536, 1536},
    {"Qwen2.5-1.5B", "attn_k", 256, 1536},
    {"Qwen2.5-1.5B", "attn_v", 256, 1536},
    {"Qwen2.5-1.5B", "attn_output", 1536, 1536},
    {"Qwen2.5-1.5B", "ffn_gate", 8960, 1536},
    {"Qwen2.5-1.5B", "ffn_up", 8960, 1536},
    {"Qwen2.5-1.5B", "ffn_down", 1536, 8960},
    {"Qwen2.5-1.5B", "output", 151936, 1536},
};

// Distinct streams for the parts of one workload, so that changing, say,
// the number of layers does not change the input activations.
uint64_t SubSeed(uint64_t seed, uint64_t stream) {
  // splitmix64 finaliser: neighbouring seeds give unrelated streams.
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Silu(double v) { return v / (1.0 + std::exp(-v)); }

// Fills a's chosen sum-overflow blocks (one fixed sign per block, a fresh
// uniform magnitude per value) and lists their channels among the enlarged
// ones, keeping `massive` ascending with its factors alongside.
void AddSumOverflowBlocks(const ActivationSpec& spec, Rng& rng, Activations* a) {
  if (a->sum_overflow_blocks.empty()) return;
  const double lo = spec.sum_overflow_min, hi = spec.sum_overflow_max;
  std::vector<std::pair<int64_t, double>> enlarged;
  for (size_t i = 0; i < a->massive.size(); ++i) enlarged.emplace_back(a->massive[i], a->massive_factor[i]);
  for (const int64_t b : a->sum_overflow_blocks) {
    const double sign = rng.Uniform() < 0.5 ? -1.0 : 1.0;
    for (int i = 0; i < kQ8BlockSize; ++i) enlarged.emplace_back(b * kQ8BlockSize + i, (lo + hi) / 2);
    for (int64_t r = 0; r < spec.rows; ++r) {
      for (int i = 0; i < kQ8BlockSize; ++i) {
        a->values[r * spec.cols + b * kQ8BlockSize + i] = static_cast<float>(sign * (lo + (hi - lo) * rng.Uniform()));
      }
    }
  }
  std::sort(enlarged.begin(), enlarged.end());
  a->massive.clear();
  a->massive_factor.clear();
  for (const auto& [channel, factor] : enlarged) {
    a->massive.push_back(channel);
    a->massive_factor.push_back(factor);
  }
}

}  // namespace

std::span<const ModelShape> KnownShapes() { return kShapes; }

std::optional<ModelShape> FindShape(std::string_view model, std::string_view tensor) {
  for (const ModelShape& s : kShapes) {
    if (s.model == model && s.tensor == tensor) return s;
  }
  return std::nullopt;
}

double Rng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1p-53; }

double Rng::Gaussian() {
  if (spare_) {
    const double v = *spare_;
    spare_.reset();
    return v;
  }
  // 1 - Uniform() is in (0, 1], so the log is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - Uniform()));
  const double angle = 2.0 * std::numbers::pi * Uniform();
  spare_ = radius * std::sin(angle);
  return radius * std::cos(angle);
}

std::vector<float> GaussianVector(uint64_t seed, int64_t n, double stddev) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(stddev * rng.Gaussian());
  return v;
}

std::vector<float> GaussianWeights(uint64_t seed, int64_t rows, int64_t cols) {
  return GaussianVector(seed, rows * cols, 1.0 / std::sqrt(static_cast<double>(cols)));
}

Activations MakeActivations(uint64_t seed, const ActivationSpec& spec) {
  assert(spec.massive_channels >= 0 && spec.massive_channels <= spec.cols);
  Activations a;
  a.rows = spec.rows;
  a.cols = spec.cols;
  a.values = GaussianVector(SubSeed(seed, 0), spec.rows * spec.cols);

  const int64_t blocks = spec.cols / kQ8BlockSize;
  assert(spec.sum_overflow_blocks >= 0 && spec.sum_overflow_blocks <= blocks);
  // The overflow blocks draw from their own stream, so that a spec without
  // them leaves every other draw as it was.
  Rng overflow_rng(SubSeed(seed, 2));
  while (static_cast<int>(a.sum_overflow_blocks.size()) < spec.sum_overflow_blocks) {
    const int64_t b = static_cast<int64_t>(overflow_rng.NextU64() % static_cast<uint64_t>(blocks));
    if (std::find(a.sum_overflow_blocks.begin(), a.sum_overflow_blocks.end(), b) !=
        a.sum_overflow_blocks.end()) {
      continue;
    }
    a.sum_overflow_blocks.push_back(b);
  }
  std::sort(a.sum_overflow_blocks.begin(), a.sum_overflow_blocks.end());
  const auto in_overflow_block = [&](int64_t c) {
    return std::binary_search(a.sum_overflow_blocks.begin(), a.sum_overflow_blocks.end(),
                              c / kQ8BlockSize);
  };

  Rng rng(SubSeed(seed, 1));
  std::vector<double> sign;
  while (static_cast<int>(a.massive.size()) < spec.massive_channels) {
    const int64_t c = static_cast<int64_t>(rng.NextU64() % static_cast<uint64_t>(spec.cols));
    if (std::find(a.massive.begin(), a.massive.end(), c) != a.massive.end()) continue;
    if (in_overflow_block(c)) continue;
    a.massive.push_back(c);
  }
  std::sort(a.massive.begin(), a.massive.end());
  for (size_t i = 0; i < a.massive.size(); ++i) {
    const double lo = std::log(spec.massive_min), hi = std::log(spec.massive_max);
    a.massive_factor.push_back(std::exp(lo + (hi - lo) * rng.Uniform()));
    sign.push_back(rng.Uniform() < 0.5 ? -1.0 : 1.0);
  }
  for (int64_t r = 0; r < spec.rows; ++r) {
    for (size_t i = 0; i < a.massive.size(); ++i) {
      const double jitter = 1.0 + 0.05 * rng.Gaussian();
      a.values[r * spec.cols + a.massive[i]] =
          static_cast<float>(sign[i] * a.massive_factor[i] * jitter);
    }
  }
  AddSumOverflowBlocks(spec, overflow_rng, &a);
  return a;
}

ActivationSpec Fp16OverflowSumSpec(int64_t rows, int64_t cols) {
  ActivationSpec spec;
  spec.rows = rows;
  spec.cols = cols;
  spec.sum_overflow_blocks = 4;
  spec.sum_overflow_min = 2500.0;
  spec.sum_overflow_max = 4000.0;
  return spec;
}

void DampMassiveColumns(std::span<float> weights, int64_t rows, int64_t cols,
                        std::span<const int64_t> channels, std::span<const double> factors) {
  assert(static_cast<int64_t>(weights.size()) == rows * cols && channels.size() == factors.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t i = 0; i < channels.size(); ++i) {
      weights[r * cols + channels[i]] = static_cast<float>(weights[r * cols + channels[i]] / factors[i]);
    }
  }
}

GemvFn ReferenceGemvFn() {
  return [](const WeightView& w, std::span<const float> x, int64_t m) {
    return ReferenceGemv(w, x, m);
  };
}

GemvFn FloatPathGemvFn(FloatPathOptions options) {
  return [options](const WeightView& w, std::span<const float> x, int64_t m) {
    const std::vector<float> y = EmulateFloatPath(w, x, m, options);
    return std::vector<double>(y.begin(), y.end());
  };
}

GemvFn Dp4aGemvFn(Dp4aOptions options) {
  return [options](const WeightView& w, std::span<const float> x, int64_t m) {
    const std::vector<float> y = EmulateDp4aPath(w, x, m, options);
    return std::vector<double>(y.begin(), y.end());
  };
}

FfnChain MakeFfnChain(uint64_t seed, const FfnChainSpec& spec) {
  FfnChain chain;
  chain.spec = spec;
  chain.input = MakeActivations(SubSeed(seed, 100),
                                {spec.tokens, spec.d_model, spec.massive_channels,
                                 spec.massive_min, spec.massive_max});
  for (int l = 0; l < spec.layers; ++l) {
    std::vector<float> up = GaussianWeights(SubSeed(seed, 200 + 2 * l), spec.d_ff, spec.d_model);
    DampMassiveColumns(up, spec.d_ff, spec.d_model, chain.input.massive, chain.input.massive_factor);
    std::vector<float> down = GaussianWeights(SubSeed(seed, 201 + 2 * l), spec.d_model, spec.d_ff);
    for (int64_t c : chain.input.massive) {
      std::fill_n(down.begin() + c * spec.d_ff, spec.d_ff, 0.0f);
    }
    chain.up.push_back(QuantizeWeights(spec.format, up, spec.d_ff, spec.d_model));
    chain.down.push_back(QuantizeWeights(spec.format, down, spec.d_model, spec.d_ff));
  }
  return chain;
}

std::vector<double> RunFfnChain(const FfnChain& chain, const GemvFn& gemv) {
  const FfnChainSpec& spec = chain.spec;
  const int64_t m = spec.tokens;
  std::vector<double> h(chain.input.values.begin(), chain.input.values.end());
  std::vector<float> x(h.size());
  std::vector<float> hidden(m * spec.d_ff);
  for (int l = 0; l < spec.layers; ++l) {
    std::transform(h.begin(), h.end(), x.begin(), [](double v) { return static_cast<float>(v); });
    const std::vector<double> u = gemv(chain.up[l].view(), x, m);
    std::transform(u.begin(), u.end(), hidden.begin(),
                   [](double v) { return static_cast<float>(Silu(v)); });
    const std::vector<double> delta = gemv(chain.down[l].view(), hidden, m);
    for (size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
  }
  for (size_t i = 0; i < h.size(); ++i) h[i] -= chain.input.values[i];
  return h;
}

WeightMatrix RandomQuantizedWeights(uint64_t seed, WeightFormat format, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.bytes.resize(static_cast<size_t>(rows * RowBytes(format, cols)));
  Rng rng(seed);
  // Random bytes everywhere, then scales fixed up so that a weight's size is
  // about 1/sqrt(cols) whatever its quant (q <= 15 for Q4_K, |q - 32| <= 32
  // for Q6_K, six-bit sub-block scales <= 63).
  for (size_t i = 0; i + 8 <= m.bytes.size(); i += 8) {
    const uint64_t r = rng.NextU64();
    std::memcpy(&m.bytes[i], &r, 8);
  }
  const double unit = 1.0 / std::sqrt(static_cast<double>(cols));
  const int64_t blocks = rows * (cols / 256);
  for (int64_t b = 0; b < blocks; ++b) {
    const float jitter = static_cast<float>(0.5 + rng.Uniform());
    if (format == WeightFormat::kQ4K) {
      auto* block = reinterpret_cast<BlockQ4K*>(m.bytes.data()) + b;
      block->d = FloatToHalf(static_cast<float>(2.0 * unit / (63.0 * 15.0)) * jitter);
      block->dmin = FloatToHalf(static_cast<float>(unit / 63.0) * jitter);
    } else if (format == WeightFormat::kQ6K) {
      auto* block = reinterpret_cast<BlockQ6K*>(m.bytes.data() + b * sizeof(BlockQ6K));
      const uint16_t d = FloatToHalf(static_cast<float>(2.0 * unit / (127.0 * 32.0)) * jitter);
      std::memcpy(reinterpret_cast<uint8_t*>(block) + offsetof(BlockQ6K, d), &d, sizeof d);
    }
  }
  return m;
}

}  // namespace kpolicy::kernels
