// Seeded, platform-independent test workloads: the GEMV shapes of real
// models, Gaussian weights, activations with and without massive-activation
// channels, and a deep FFN chain that can be run through any GEMV (the fp64
// reference, the float emulation, the DP4A emulation, a CUDA kernel).
//
// Determinism: the same seed gives the same bits on every platform and
// standard library. std::mt19937_64's output is fixed by the standard;
// std::normal_distribution's (and uniform_real_distribution's) is not, so
// uniforms and Gaussians are derived here from raw 64-bit draws. Uniforms
// are exact; Gaussians also go through libm's log, sin and cos, which
// agree to the last bit on common platforms nearly always, and a last-bit
// difference in a double rarely survives the rounding to float.
//
// Thread-safety: Rng is a value type with no sharing; the rest are pure.
#ifndef KPOLICY_KERNELS_WORKLOAD_H_
#define KPOLICY_KERNELS_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

// ---- Shapes ---------------------------------------------------------------

// One GEMV of a real model: W is rows x cols (outputs x inputs).
struct ModelShape {
  std::string_view model;   // e.g. "Llama-3-8B"
  std::string_view tensor;  // e.g. "ffn_up" (GGUF's blk.N.ffn_up.weight)
  int64_t rows;             // N
  int64_t cols;             // K
};

// Llama-3-8B and Qwen2.5-1.5B: attention projections, FFN up/gate/down, and
// the output (vocabulary) projection.
std::span<const ModelShape> KnownShapes();
std::optional<ModelShape> FindShape(std::string_view model, std::string_view tensor);

// ---- Random numbers -------------------------------------------------------

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t NextU64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Standard normal by Box-Muller; both values of each pair are used.
  double Gaussian();

 private:
  std::mt19937_64 engine_;
  std::optional<double> spare_;
};

// n independent N(0, stddev^2) floats.
std::vector<float> GaussianVector(uint64_t seed, int64_t n, double stddev = 1.0);

// A rows x cols weight matrix of N(0, 1/cols) values (the scale that keeps a
// GEMV's output at the input's magnitude), row-major.
std::vector<float> GaussianWeights(uint64_t seed, int64_t rows, int64_t cols);

// Valid Q4_K or Q6_K blocks with random quants and small random scales,
// without running the quantiser: for timing runs at full model size, where
// quantising hundreds of millions of Gaussian weights would take minutes.
// Every weight is finite and of order 1/sqrt(cols).
WeightMatrix RandomQuantizedWeights(uint64_t seed, WeightFormat format, int64_t rows, int64_t cols);

// ---- Activations ----------------------------------------------------------

struct ActivationSpec {
  int64_t rows = 1;             // M (tokens)
  int64_t cols = 0;             // K
  int massive_channels = 0;     // channels made 100..1000x larger than the rest
  double massive_min = 100.0;   // magnitude range of the massive channels, in
  double massive_max = 1000.0;  // units of the ordinary channels' stddev
  // Q8_1-aligned blocks of 32 channels (32b .. 32b+31) whose values share one
  // sign, magnitudes uniform in [sum_overflow_min, sum_overflow_max]: blocks
  // whose sum exceeds the fp16 range (see Fp16OverflowSumSpec).
  int sum_overflow_blocks = 0;
  double sum_overflow_min = 2500.0;
  double sum_overflow_max = 4000.0;
};

struct Activations {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;            // rows x cols, row-major
  // Every enlarged channel, ascending: the massive channels and the channels
  // of the sum-overflow blocks, so that DampMassiveColumns damps them all.
  std::vector<int64_t> massive;
  // Each one's magnitude (same order); for an overflow-block channel the
  // middle of [sum_overflow_min, sum_overflow_max].
  std::vector<double> massive_factor;
  std::vector<int64_t> sum_overflow_blocks;  // their Q8_1 block indices, ascending
};

// Ordinary channels are N(0, 1). Massive channels are the same channels in
// every row (as in real models, where a few fixed dimensions carry them),
// chosen at random, each with a fixed magnitude drawn log-uniformly from
// [massive_min, massive_max] and a fixed sign, times (1 + 0.05 N(0,1)) per
// row. Sum-overflow blocks are the same blocks in every row, chosen at
// random (no massive channel falls in one), each with a fixed sign; every
// value is that sign times a fresh uniform magnitude. A spec without
// overflow blocks gives the same values as before they existed.
Activations MakeActivations(uint64_t seed, const ActivationSpec& spec);

// The standard workload `fp16-overflow-sum` (contracts/README.md): N(0, 1)
// channels beside 4 sum-overflow blocks of magnitudes 2500..4000, the shape
// of the activations that made llama.cpp's Q8_1 path give NaN perplexity on
// Mistral Small 4 (its PR #21652).
//
// Why the sums exceed fp16's range: every value of an overflow block has
// the same sign and |x| >= 2500, so |sum x| >= 32 * 2500 = 80000. Q8_1 keeps
// s = d * sum(q) with d = absmax / 127 <= 4000 / 127 ~ 31.5 and
// |d * q - x| <= d / 2, so |s| >= 80000 - 32 * 31.5 / 2 ~ 79496, above
// 65520, the smallest magnitude that fp16 rounds to inf (its largest finite
// value 65504 plus half its last step of 32). d itself stays far inside
// fp16 (it overflows only for absmax > 65504 * 127 ~ 8.3e6), so the sum is
// the one field that cannot be stored as fp16.
// Precondition: cols is a multiple of 32 with cols / 32 >= 4.
ActivationSpec Fp16OverflowSumSpec(int64_t rows, int64_t cols);

// Multiplies column c of a rows x cols matrix by 1/factor for each massive
// channel: the weights that read a massive channel are small in trained
// models, so the channel acts like a bias instead of swamping the output.
// Without this the output would be dominated by the massive channels and
// every path would look accurate.
void DampMassiveColumns(std::span<float> weights, int64_t rows, int64_t cols,
                        std::span<const int64_t> channels, std::span<const double> factors);

// ---- Deep FFN chain -------------------------------------------------------

// A GEMV under test: y (M x N, double) = x (M x K, float) * W^T.
using GemvFn = std::function<std::vector<double>(const WeightView&, std::span<const float>, int64_t)>;

GemvFn ReferenceGemvFn();
GemvFn FloatPathGemvFn(FloatPathOptions options = {});
GemvFn Dp4aGemvFn(Dp4aOptions options = {});

struct FfnChainSpec {
  int64_t d_model = 512;
  int64_t d_ff = 1024;
  int layers = 8;
  int64_t tokens = 1;            // M
  int massive_channels = 4;      // 0 for the plain chain
  double massive_min = 100.0;
  double massive_max = 1000.0;
  WeightFormat format = WeightFormat::kQ4K;
};

// Layers of h <- h + down(silu(up(h))), a residual stream that carries the
// massive channels unchanged from layer to layer (down's rows for them are
// zero, as a trained model keeps them constant), read by every up
// projection through damped columns.
struct FfnChain {
  FfnChainSpec spec;
  std::vector<WeightMatrix> up;    // d_ff x d_model each
  std::vector<WeightMatrix> down;  // d_model x d_ff each
  Activations input;               // tokens x d_model
};

FfnChain MakeFfnChain(uint64_t seed, const FfnChainSpec& spec);

// What the chain adds to the residual stream: h_L - h_0, tokens x d_model,
// kept in double between layers (each GEMV still sees float inputs, as a
// kernel does). The output is that difference because the untouched massive
// channels are orders of magnitude larger than everything else: compared
// directly, h_L would agree to six digits whatever the GEMV did. Subtracting
// h_0 cancels them exactly and leaves the layers' own work. On the DP4A
// path that work carries the error of every Q8_1 block that holds a massive
// channel (its scale is the massive value / 127, so its 31 ordinary
// neighbours round to a few levels or to zero), and each layer's error
// becomes part of the next layer's input.
std::vector<double> RunFfnChain(const FfnChain& chain, const GemvFn& gemv);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_WORKLOAD_H_
