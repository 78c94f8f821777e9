// Workloads are deterministic and shaped as specified; parity metrics
// match hand-computed values and flag non-finite output.
#define BOOST_TEST_MODULE kernels_workload_parity
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/workload.h"

using namespace kpolicy::kernels;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(workload)

BOOST_AUTO_TEST_CASE(shape_table_holds_the_real_models) {
  auto check = [](const char* model, const char* tensor, int64_t rows, int64_t cols) {
    const auto s = FindShape(model, tensor);
    BOOST_REQUIRE_MESSAGE(s.has_value(), model << " " << tensor);
    BOOST_TEST(s->rows == rows);
    BOOST_TEST(s->cols == cols);
  };
  check("Llama-3-8B", "attn_q", 4096, 4096);
  check("Llama-3-8B", "ffn_up", 14336, 4096);
  check("Llama-3-8B", "ffn_gate", 14336, 4096);
  check("Llama-3-8B", "ffn_down", 4096, 14336);
  check("Llama-3-8B", "output", 128256, 4096);
  check("Qwen2.5-1.5B", "attn_q", 1536, 1536);
  check("Qwen2.5-1.5B", "ffn_up", 8960, 1536);
  check("Qwen2.5-1.5B", "ffn_down", 1536, 8960);
  BOOST_TEST(!FindShape("Llama-3-8B", "nope").has_value());
  // Every K must take whole Q4_K/Q6_K super-blocks.
  for (const ModelShape& s : KnownShapes()) BOOST_TEST(s.cols % 256 == 0);
}

BOOST_AUTO_TEST_CASE(random_streams_are_fixed) {
  // The standard fixes mt19937_64: its 10000th output for the default seed.
  std::mt19937_64 standard;
  standard.discard(9999);
  BOOST_TEST(standard() == 9981545732273789042ull);
  // Our derived values for seed 42. The uniform is exact arithmetic; the
  // Gaussians go through libm's log, sin and cos, hence the tolerance.
  Rng rng(42);
  BOOST_TEST(rng.NextU64() == 13930160852258120406ull);
  BOOST_TEST(rng.Uniform() == 0.63903139385469743);
  BOOST_TEST(rng.Gaussian() == 1.0945198485006107, tt::tolerance(1e-12));
  BOOST_TEST(rng.Gaussian() == 1.2616856516484893, tt::tolerance(1e-12));
  BOOST_TEST(rng.Gaussian() == 1.7947316657951717, tt::tolerance(1e-12));
  BOOST_TEST(GaussianVector(9, 100) == GaussianVector(9, 100), tt::per_element());
  BOOST_TEST(GaussianVector(9, 10)[0] != GaussianVector(10, 10)[0]);
}

BOOST_AUTO_TEST_CASE(gaussian_moments) {
  const std::vector<float> v = GaussianVector(1, 1 << 18, 2.0);
  double sum = 0, sum2 = 0, sum4 = 0;
  for (float x : v) sum += x, sum2 += double(x) * x, sum4 += std::pow(double(x), 4);
  const double n = v.size(), mean = sum / n, var = sum2 / n;
  BOOST_TEST(std::fabs(mean) < 0.02);                   // stderr 2/512
  BOOST_TEST(var == 4.0, tt::tolerance(0.02));
  BOOST_TEST(sum4 / n / (var * var) == 3.0, tt::tolerance(0.03));  // Gaussian kurtosis
}

BOOST_AUTO_TEST_CASE(massive_activations_are_where_and_as_large_as_specified) {
  const Activations a = MakeActivations(7, {4, 2048, 3, 100.0, 1000.0});
  BOOST_TEST(a.values.size() == 4u * 2048);
  BOOST_TEST(a.massive.size() == 3u);
  BOOST_TEST(std::is_sorted(a.massive.begin(), a.massive.end()));
  for (size_t i = 0; i < a.massive.size(); ++i) {
    BOOST_TEST(a.massive_factor[i] >= 100.0);
    BOOST_TEST(a.massive_factor[i] <= 1000.0);
    for (int64_t r = 0; r < 4; ++r) {
      const double v = std::fabs(a.values[r * 2048 + a.massive[i]]);
      BOOST_TEST(v == a.massive_factor[i], tt::tolerance(0.25));  // 5% jitter, 5 sigma
    }
  }
  // The ordinary channels stay N(0,1).
  double sum2 = 0;
  int count = 0;
  for (int64_t c = 0; c < 2048; ++c) {
    if (std::find(a.massive.begin(), a.massive.end(), c) != a.massive.end()) continue;
    sum2 += double(a.values[c]) * a.values[c];
    ++count;
  }
  BOOST_TEST(sum2 / count == 1.0, tt::tolerance(0.1));
  const Activations plain = MakeActivations(7, {4, 2048, 0});
  BOOST_TEST(plain.massive.empty());
}

// The derivation on Fp16OverflowSumSpec, checked on the values: every
// overflow block is 32 same-sign values of magnitude 2500..4000, so its sum
// is beyond fp16's largest finite value while its absmax / 127 (the Q8_1 d)
// is far inside; the rest of the row is the ordinary N(0, 1).
BOOST_AUTO_TEST_CASE(fp16_overflow_sum_blocks_exceed_the_fp16_range) {
  const int64_t rows = 4, cols = 4096;
  const Activations a = MakeActivations(17, Fp16OverflowSumSpec(rows, cols));
  BOOST_REQUIRE(a.sum_overflow_blocks.size() == 4u);
  BOOST_TEST(std::is_sorted(a.sum_overflow_blocks.begin(), a.sum_overflow_blocks.end()));
  BOOST_TEST(a.massive.size() == 4u * 32);  // every overflow channel, for DampMassiveColumns
  for (int64_t r = 0; r < rows; ++r) {
    for (const int64_t b : a.sum_overflow_blocks) {
      double sum = 0, absmax = 0;
      for (int i = 0; i < 32; ++i) {
        const float v = a.values[r * cols + b * 32 + i];
        sum += v;
        absmax = std::max(absmax, std::fabs(double(v)));
        BOOST_REQUIRE(std::fabs(v) >= 2500.0f);
        BOOST_REQUIRE(std::fabs(v) <= 4000.0f);
        BOOST_REQUIRE((v > 0) == (a.values[b * 32] > 0));  // one sign per block, every row
      }
      BOOST_TEST(std::fabs(sum) >= 80000.0);        // 32 * 2500 > 65504
      BOOST_TEST(absmax / 127.0 < 65504.0 / 1000);  // d: three decades inside fp16
    }
  }
  double sum2 = 0;
  int count = 0;
  for (int64_t c = 0; c < cols; ++c) {
    if (std::binary_search(a.sum_overflow_blocks.begin(), a.sum_overflow_blocks.end(), c / 32)) continue;
    sum2 += double(a.values[c]) * a.values[c];
    ++count;
  }
  BOOST_TEST(sum2 / count == 1.0, tt::tolerance(0.1));
  // Massive channels, when asked for as well, never land in an overflow block.
  ActivationSpec both = Fp16OverflowSumSpec(rows, 1024);
  both.massive_channels = 16;
  const Activations mixed = MakeActivations(3, both);
  BOOST_TEST(mixed.massive.size() == 16u + 4 * 32);
  BOOST_TEST(std::is_sorted(mixed.massive.begin(), mixed.massive.end()));
  // The ordinary channels come from their own stream: adding overflow blocks
  // leaves every channel that neither spec enlarges as it was.
  ActivationSpec plain = both;
  plain.sum_overflow_blocks = 0;
  const Activations before = MakeActivations(3, plain);
  BOOST_TEST(before.sum_overflow_blocks.empty());
  BOOST_TEST(before.massive.size() == 16u);
  const auto enlarged = [](const Activations& x, int64_t c) {
    return std::binary_search(x.massive.begin(), x.massive.end(), c);
  };
  for (int64_t i = 0; i < rows * 1024; ++i) {
    if (enlarged(before, i % 1024) || enlarged(mixed, i % 1024)) continue;
    BOOST_REQUIRE_EQUAL(before.values[i], mixed.values[i]);
  }
}

BOOST_AUTO_TEST_CASE(generation_at_a_real_shape) {
  const ModelShape s = *FindShape("Qwen2.5-1.5B", "attn_q");
  const std::vector<float> w = GaussianWeights(1, s.rows, s.cols);
  BOOST_TEST(static_cast<int64_t>(w.size()) == s.rows * s.cols);
  double sum2 = 0;
  for (float x : w) sum2 += double(x) * x;
  BOOST_TEST(sum2 / w.size() * s.cols == 1.0, tt::tolerance(0.01));  // N(0, 1/K)
}

BOOST_AUTO_TEST_CASE(chain_is_deterministic_and_runs_any_gemv) {
  FfnChainSpec spec;
  spec.d_model = 256;
  spec.d_ff = 256;
  spec.layers = 2;
  spec.tokens = 2;
  const FfnChain a = MakeFfnChain(5, spec), b = MakeFfnChain(5, spec);
  BOOST_TEST(a.up[1].bytes == b.up[1].bytes);
  int calls = 0;
  const GemvFn counting = [&](const WeightView& w, std::span<const float> x, int64_t m) {
    ++calls;
    return ReferenceGemvFn()(w, x, m);
  };
  const std::vector<double> out = RunFfnChain(a, counting);
  BOOST_TEST(calls == 4);
  BOOST_TEST(out.size() == 2u * 256);
  // The massive channels are carried, not changed, by the layers.
  for (int64_t c : a.input.massive) BOOST_TEST(out[c] == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parity)

BOOST_AUTO_TEST_CASE(hand_computed_metrics) {
  // r = (3, 4), c = (4, 3): r.c = 24, |r| = |c| = 5, c - r = (1, -1).
  const std::vector<double> r = {3, 4}, c = {4, 3};
  const ParityMetrics p = ComputeParity(r, c);
  BOOST_TEST(p.elements == 2);
  BOOST_TEST(p.cosine == 24.0 / 25.0, tt::tolerance(1e-15));
  BOOST_TEST(p.relative_l2_error == std::sqrt(2.0) / 5.0, tt::tolerance(1e-15));
  BOOST_TEST(p.max_abs_error == 1.0);
  BOOST_TEST(p.rows == 1);
  BOOST_TEST(p.argmax_matching_rows == 0);  // 1 vs 0
  BOOST_TEST(p.argmax_agreement == 0.0);
  BOOST_TEST(p.all_finite());

  const ParityMetrics same = ComputeParity(r, r);
  BOOST_TEST(same.cosine == 1.0);
  BOOST_TEST(same.relative_l2_error == 0.0);
  BOOST_TEST(same.argmax_agreement == 1.0);

  const std::vector<double> neg = {-3, -4};
  BOOST_TEST(ComputeParity(r, neg).cosine == -1.0, tt::tolerance(1e-15));
  BOOST_TEST(ComputeParity(r, neg).relative_l2_error == 2.0, tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(argmax_per_row) {
  // Two rows of three: row 0 agrees (index 2), row 1 does not (0 vs 1).
  const std::vector<float> r = {0, 1, 5, 9, 2, 3};
  const std::vector<float> c = {0, 2, 4, 2, 8, 3};
  const ParityMetrics p = ComputeParity(r, c, 3);
  BOOST_TEST(p.rows == 2);
  BOOST_TEST(p.argmax_matching_rows == 1);
  BOOST_TEST(p.argmax_agreement == 0.5);
  BOOST_TEST(p.max_abs_error == 7.0);
  // Ties go to the first index in both.
  const std::vector<float> tie = {1, 1};
  BOOST_TEST(ComputeParity(tie, tie).argmax_agreement == 1.0);
}

BOOST_AUTO_TEST_CASE(zero_vectors) {
  const std::vector<double> z = {0, 0}, one = {0, 1};
  BOOST_TEST(ComputeParity(z, z).cosine == 1.0);
  BOOST_TEST(ComputeParity(z, z).relative_l2_error == 0.0);
  BOOST_TEST(ComputeParity(z, one).cosine == 0.0);
  BOOST_TEST(std::isinf(ComputeParity(z, one).relative_l2_error));
}

BOOST_AUTO_TEST_CASE(non_finite_values_fail_every_threshold) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> r = {1, 2, 3, 4};
  const std::vector<double> c = {1, nan, 3, inf};
  const ParityMetrics p = ComputeParity(r, c);
  BOOST_TEST(p.candidate_nan_count == 1);
  BOOST_TEST(p.candidate_inf_count == 1);
  BOOST_TEST(!p.all_finite());
  BOOST_TEST(std::isnan(p.cosine));
  BOOST_TEST(!(p.cosine >= 0.99));
  BOOST_TEST(!(p.relative_l2_error <= 0.01));
  BOOST_TEST(!(p.max_abs_error <= 1.0));
  BOOST_TEST(p.argmax_agreement == 1.0);  // NaN is skipped; inf at 3 wins, as 4 does in r
  const ParityMetrics bad_ref = ComputeParity(c, r);
  BOOST_TEST(bad_ref.reference_nonfinite_count == 2);
  BOOST_TEST(std::isnan(bad_ref.cosine));
  BOOST_TEST(p.ToString().find("nan=1") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
