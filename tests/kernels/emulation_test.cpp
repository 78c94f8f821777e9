// The fp64 reference on hand-computed cases, and each emulated GPU path
// against it: the float path within fp32 accumulation error, the DP4A path
// off by exactly what Q8_1 rounding explains, and far more so on the
// massive-activation workload and through a deep FFN chain.
#define BOOST_TEST_MODULE kernels_emulation
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/workload.h"

using namespace kpolicy::kernels;

namespace {

constexpr double kFloatUlp = 0x1p-24;  // unit roundoff of fp32

struct Case {
  WeightMatrix weights;
  Activations x;
};

// n x k weights (damped where the activations are enlarged) and spec's activations.
Case MakeCase(WeightFormat format, int64_t n, const ActivationSpec& spec, uint64_t seed) {
  const int64_t k = spec.cols;
  Case c;
  c.x = MakeActivations(seed, spec);
  std::vector<float> w = GaussianWeights(seed + 1, n, k);
  DampMassiveColumns(w, n, k, c.x.massive, c.x.massive_factor);
  c.weights = QuantizeWeights(format, w, n, k);
  return c;
}

Case MakeCase(WeightFormat format, int64_t n, int64_t k, int64_t m, int massive, uint64_t seed) {
  return MakeCase(format, n, ActivationSpec{m, k, massive}, seed);
}

// sum_k |w_k x_k| per output: the scale of any rounding error in a dot product.
std::vector<double> AbsoluteProducts(const WeightView& w, std::span<const float> x, int64_t m) {
  std::vector<float> ax(x.begin(), x.end());
  for (float& v : ax) v = std::fabs(v);
  std::vector<float> aw = DequantizeAll(w);
  for (float& v : aw) v = std::fabs(v);
  WeightMatrix abs_w = QuantizeWeights(WeightFormat::kF32, aw, w.rows, w.cols);
  return ReferenceGemv(abs_w.view(), ax, m);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(gemv_and_gemm_by_hand) {
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};  // N = 2, K = 3
  const std::vector<float> x = {1, 0, -1, 0.5f, 0.5f, 0.5f};  // M = 2
  const WeightMatrix wm = QuantizeWeights(WeightFormat::kF32, w, 2, 3);
  const std::vector<double> y = ReferenceGemv(wm.view(), x, 2);
  BOOST_TEST(y == std::vector<double>({-2, -2, 3, 7.5}), boost::test_tools::per_element());

  // A (2x3) * B (3x2).
  const std::vector<float> b = {1, 0, 0, 1, 2, -1};
  const std::vector<double> c = ReferenceGemm(x, b, 2, 3, 2);
  BOOST_TEST(c == std::vector<double>({-1, 1, 1.5, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(quantised_rows_are_the_formats_exact_values) {
  // The float dequantiser rounds d*sc and the product once each; the
  // reference does not. They agree to a couple of float ulps.
  const std::vector<float> w = GaussianWeights(2, 3, 512);
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K, WeightFormat::kFp8E4M3,
                         WeightFormat::kF16}) {
    const WeightMatrix m = QuantizeWeights(f, w, 3, 512);
    std::vector<double> exact(512);
    std::vector<float> rounded(512);
    for (int64_t r = 0; r < 3; ++r) {
      ReferenceRow(m.view(), r, exact);
      DequantizeRow(m.view(), r, rounded);
      for (int i = 0; i < 512; ++i) {
        BOOST_REQUIRE_LE(std::fabs(exact[i] - rounded[i]), 3 * kFloatUlp * std::fabs(exact[i]) + 1e-12);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gemv_rows_are_independent) {
  // M rows at once equal M single-row calls.
  const Case c = MakeCase(WeightFormat::kQ4K, 16, 512, 8, 0, 3);
  const std::vector<double> all = ReferenceGemv(c.weights.view(), c.x.values, 8);
  for (int64_t r = 0; r < 8; ++r) {
    const std::vector<double> one =
        ReferenceGemv(c.weights.view(), std::span(c.x.values).subspan(r * 512, 512), 1);
    for (int n = 0; n < 16; ++n) BOOST_REQUIRE_EQUAL(all[r * 16 + n], one[n]);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(float_path)

// A sequential fp32 FMA sum of K products errs by at most about
// K * u * sum|w x| (u = 2^-24), plus u per product for the dequantisation;
// the lane split only reorders the sum.
BOOST_AUTO_TEST_CASE(within_fp32_accumulation_error) {
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K, WeightFormat::kF16,
                         WeightFormat::kFp8E4M3, WeightFormat::kF32}) {
    const Case c = MakeCase(f, 64, 1024, 3, 2, 11);
    const WeightView w = c.weights.view();
    const std::vector<double> ref = ReferenceGemv(w, c.x.values, 3);
    const std::vector<double> scale = AbsoluteProducts(w, c.x.values, 3);
    for (FloatPathOptions opt : {FloatPathOptions{1, 1}, FloatPathOptions{32, 8}}) {
      const std::vector<float> y = EmulateFloatPath(w, c.x.values, 3, opt);
      for (size_t i = 0; i < y.size(); ++i) {
        BOOST_REQUIRE_LE(std::fabs(y[i] - ref[i]), (1024 + 4) * kFloatUlp * scale[i]);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dp4a_path)

BOOST_AUTO_TEST_CASE(block_dot_products_by_hand) {
  // Q4_K: d = dmin = 1, every sc = m = 1, every q = 2: every weight is 1.
  BlockQ4K w4{};
  w4.d = w4.dmin = 0x3C00;
  for (int j = 0; j < 4; ++j) w4.scales[j] = w4.scales[j + 4] = 1;
  for (int j = 8; j < 12; ++j) w4.scales[j] = 0x11;
  for (uint8_t& q : w4.qs) q = 0x22;
  // Q8_1: d = 0.5, every q = 2: every activation is 1; s = 0.5 * 64 = 32.
  std::array<BlockQ8_1, 8> a{};
  for (BlockQ8_1& b : a) {
    b.d = 0x3800;
    b.s = FloatToBf16(32.0f);
    for (int8_t& q : b.qs) q = 2;
  }
  // sum_d = 8 * 0.5 * (32 * 2 * 2) = 512, sum_m = 8 * 32 = 256.
  BOOST_TEST(DotQ4KQ8_1(w4, a) == 256.0f);
  BOOST_TEST(DotQ4KQ8_1(w4, a, Q4KMinTerm::kQuantSum) == 256.0f);

  // Q6_K: d = 0.5, scales 2, every q = 33 (value +1): every weight is 1.
  BlockQ6K w6{};
  w6.d = 0x3800;
  for (int8_t& s : w6.scales) s = 2;
  for (uint8_t& q : w6.ql) q = 0x11;
  for (uint8_t& q : w6.qh) q = 0xAA;  // high bits 2 -> 32 + 1 = 33
  BOOST_TEST(DotQ6KQ8_1(w6, a) == 256.0f);
}

// The DP4A result is the exact dot product with the Q8_1-rounded
// activations x^ (fp16(d8) * q), up to fp32 rounding of the per-sub-block
// terms; with the s min term, also the difference between s and
// fp16(d8) * sum(q), which is computed here exactly.
BOOST_AUTO_TEST_CASE(equals_the_reference_on_rounded_activations) {
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    const Case c = MakeCase(f, 48, 1024, 2, 2, 21);
    const WeightView w = c.weights.view();
    const std::vector<BlockQ8_1> q8 = QuantizeActivations(c.x.values, 2, 1024);
    std::vector<float> x_hat(c.x.values.size());
    DequantizeQ8_1(q8, x_hat);
    const std::vector<double> ref_hat = ReferenceGemv(w, x_hat, 2);
    const std::vector<double> scale = AbsoluteProducts(w, x_hat, 2);
    for (Q4KMinTerm term : {Q4KMinTerm::kQuantSum, Q4KMinTerm::kQ8Sum}) {
      const std::vector<float> y = Dp4aGemv(w, q8, 2, term);
      for (int64_t r = 0; r < 2; ++r) {
        for (int64_t n = 0; n < 48; ++n) {
          double expected = ref_hat[r * 48 + n];
          if (f == WeightFormat::kQ4K && term == Q4KMinTerm::kQ8Sum) {
            for (int64_t b = 0; b < 4; ++b) {
              BlockQ4K block;
              std::memcpy(&block, w.bytes.data() + n * RowBytes(f, 1024) + b * 144, 144);
              for (int j = 0; j < 8; ++j) {
                const BlockQ8_1& a = q8[r * 32 + b * 8 + j];
                int qsum = 0;
                for (int8_t q : a.qs) qsum += q;
                uint8_t sc, m;
                Q4KScaleMin(block, j, &sc, &m);
                expected -= double(HalfToFloat(block.dmin)) * m *
                            (double(Bf16ToFloat(a.s)) - double(HalfToFloat(a.d)) * qsum);
              }
            }
          }
          BOOST_REQUIRE_LE(std::fabs(y[r * 48 + n] - expected), 64 * kFloatUlp * scale[r * 48 + n]);
        }
      }
    }
  }
}

// On plain Gaussian activations the Q8_1 error is uniform within +-d/2,
// d = absmax/127 per 32-block, so an output's error has variance
// sum_k w_k^2 d_k^2 / 12. The measured RMS must match that prediction, and
// no output may exceed the worst case sum_k |w_k| (d_k/2 + fp16 slack).
// Q4_K adds the min term's error: per sub-block j, dmin * m_j times the
// error of the bf16 s_j, which rounds to a step u_j = 2^(e_j - 7) for
// |s_j| in [2^e_j, 2^(e_j + 1)) (8-bit significand): variance u_j^2 / 12,
// worst case u_j / 2 <= 2^-8 |s_j|, plus |sum(q)| * |d - fp16(d)| because s
// is d * sum(q) with the float d. With fp16 s (u_j 8x smaller) this term
// was negligible and the Q4_K ratio 1.00; in bf16 it is ~15% of the RMS
// unless predicted, so it is predicted.
BOOST_AUTO_TEST_CASE(error_is_what_q8_1_step_size_predicts) {
  const int64_t n = 256, k = 1024, m = 4;
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    const Case c = MakeCase(f, n, k, m, 0, 31);
    const WeightView w = c.weights.view();
    const std::vector<double> ref = ReferenceGemv(w, c.x.values, m);
    const std::vector<float> y = EmulateDp4aPath(w, c.x.values, m);
    const std::vector<BlockQ8_1> q8 = QuantizeActivations(c.x.values, m, k);

    std::vector<double> step(m * k), bound(m * k);
    for (int64_t b = 0; b < m * k / 32; ++b) {
      float absmax = 0;
      for (int i = 0; i < 32; ++i) absmax = std::max(absmax, std::fabs(c.x.values[b * 32 + i]));
      const double d = absmax / 127.0;
      for (int i = 0; i < 32; ++i) {
        step[b * 32 + i] = d;
        bound[b * 32 + i] = d / 2 + 127 * std::fabs(d - HalfToFloat(q8[b].d)) + 1e-6;
      }
    }
    double predicted = 0, measured = 0;
    std::vector<double> row(k);
    for (int64_t o = 0; o < n; ++o) {
      ReferenceRow(w, o, row);
      for (int64_t r = 0; r < m; ++r) {
        double var = 0, worst = 0;
        for (int64_t i = 0; i < k; ++i) {
          var += row[i] * row[i] * step[r * k + i] * step[r * k + i] / 12;
          worst += std::fabs(row[i]) * bound[r * k + i];
        }
        for (int64_t sb = 0; f == WeightFormat::kQ4K && sb < k / 256; ++sb) {
          BlockQ4K block;
          std::memcpy(&block, w.bytes.data() + o * RowBytes(f, k) + sb * 144, 144);
          for (int j = 0; j < 8; ++j) {
            uint8_t sc, min;
            Q4KScaleMin(block, j, &sc, &min);
            const BlockQ8_1& a = q8[r * (k / 32) + sb * 8 + j];
            const double coef = double(HalfToFloat(block.dmin)) * min, s = Bf16ToFloat(a.s);
            const double u = s == 0 ? 0 : std::ldexp(1.0, std::ilogb(s) - 7);
            int qsum = 0;
            for (int8_t q : a.qs) qsum += q;
            float absmax = 0;
            for (int i = 0; i < 32; ++i) {
              absmax = std::max(absmax, std::fabs(c.x.values[r * k + (sb * 8 + j) * 32 + i]));
            }
            var += coef * coef * u * u / 12;
            worst += coef * (u / 2 + std::abs(qsum) * std::fabs(absmax / 127.0f - HalfToFloat(a.d)));
          }
        }
        const double err = y[r * n + o] - ref[r * n + o];
        BOOST_REQUIRE_LE(std::fabs(err), worst);
        predicted += var;
        measured += err * err;
      }
    }
    const double ratio = std::sqrt(measured / predicted);
    BOOST_TEST_MESSAGE(WeightFormatName(f) << ": DP4A error RMS / predicted = " << ratio);
    BOOST_TEST(ratio > 0.8);
    BOOST_TEST(ratio < 1.2);
  }
}

// Massive channels (100-1000x) set the Q8_1 scale of their blocks, so the
// 31 ordinary neighbours in each such block round to a few levels or to
// zero. The float path never quantises activations and does not care.
BOOST_AUTO_TEST_CASE(massive_activations_break_dp4a_not_the_float_path) {
  const int64_t n = 256, k = 1024, m = 4;
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    const Case plain = MakeCase(f, n, k, m, 0, 41);
    const Case massive = MakeCase(f, n, k, m, 4, 41);
    auto metrics = [&](const Case& c, bool dp4a) {
      const std::vector<double> ref = ReferenceGemv(c.weights.view(), c.x.values, m);
      const std::vector<float> y = dp4a ? EmulateDp4aPath(c.weights.view(), c.x.values, m)
                                        : EmulateFloatPath(c.weights.view(), c.x.values, m);
      return ComputeParity(ref, y, n);
    };
    const ParityMetrics dp_plain = metrics(plain, true), dp_massive = metrics(massive, true);
    const ParityMetrics fl_massive = metrics(massive, false);
    BOOST_TEST_MESSAGE(WeightFormatName(f) << " DP4A plain:   " << dp_plain.ToString());
    BOOST_TEST_MESSAGE(WeightFormatName(f) << " DP4A massive: " << dp_massive.ToString());
    BOOST_TEST_MESSAGE(WeightFormatName(f) << " float massive: " << fl_massive.ToString());
    // Plain: INT8 rounding alone, ~0.005 (see the prediction test).
    BOOST_TEST(dp_plain.relative_l2_error < 0.008);
    BOOST_TEST(dp_plain.cosine > 0.9999);
    BOOST_TEST(dp_massive.relative_l2_error > 10 * dp_plain.relative_l2_error);
    BOOST_TEST(dp_massive.cosine < 0.999);
    BOOST_TEST(fl_massive.relative_l2_error < 1e-5);
    BOOST_TEST(fl_massive.relative_l2_error * 1000 < dp_massive.relative_l2_error);
  }
}

// The fp16-overflow-sum workload (Fp16OverflowSumSpec: blocks of 32
// same-sign values whose sum is beyond 65504) through the DP4A emulation.
// With s stored as fp16 (GGUF's encoding, and this project's until the
// fix) every overflow block's s was +-inf, the Q4_K min term dmin * m * s
// +-inf (NaN where m = 0, as 0 * inf), and every output non-finite: the
// emulation gave 128 NaN of 128 outputs here (Q6_K never reads s). What the
// fp16 encoding does to these sums is kept as a regression test in
// block_formats_test (block_sums_beyond_fp16_stay_finite_in_bf16); here the
// fixed path: every output finite, and within what the format explains.
//
// The bound: with s in bf16, the min term of an overflow block is off by at
// most dmin * m * |s| * 2^-8 (bf16's unit roundoff) on top of the plain
// INT8 rounding. The other error is the plain workload's INT8 rounding
// (<= 0.008 relative, error_is_what_q8_1_step_size_predicts) and, in the
// overflow blocks, a step of 4000/127 ~ 31.5 on values >= 2500: uniform
// error 31.5 / sqrt(12) ~ 9.1, 0.36% of 2500, less than a Gaussian block's
// ~0.5%. So the relative error stays near plain's: < 0.008 + 2^-8 ~ 0.012.
BOOST_AUTO_TEST_CASE(block_sums_beyond_fp16_give_finite_output) {
  const int64_t n = 64, k = 1024, m = 2;
  for (WeightFormat f : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    const Case c = MakeCase(f, n, Fp16OverflowSumSpec(m, k), 61);
    const std::vector<double> ref = ReferenceGemv(c.weights.view(), c.x.values, m);
    for (Q4KMinTerm term : {Q4KMinTerm::kQ8Sum, Q4KMinTerm::kQuantSum}) {
      const ParityMetrics p =
          ComputeParity(ref, EmulateDp4aPath(c.weights.view(), c.x.values, m, {.min_term = term}), n);
      BOOST_TEST_MESSAGE(WeightFormatName(f) << " DP4A on fp16-overflow-sum: " << p.ToString());
      BOOST_TEST(p.all_finite());
      BOOST_TEST(p.relative_l2_error < 0.012);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fp8_path)

// FP8 activations use one per-tensor scale, and E4M3's relative precision
// is the same in every binade: a massive channel lowers the ordinary
// channels' codes by a factor of ~1000 but (down to 2^-6 * scale) not their
// relative precision. So the FP8 path's error stays at E4M3's ~2-3% where
// per-block INT8 collapses.
BOOST_AUTO_TEST_CASE(error_is_e4m3_rounding_with_or_without_massive_channels) {
  const int64_t n = 128, k = 1024, m = 2;
  for (int massive : {0, 4}) {
    const Case c = MakeCase(WeightFormat::kFp8E4M3, n, k, m, massive, 51);
    const std::vector<double> ref = ReferenceGemv(c.weights.view(), c.x.values, m);
    const std::vector<float> y = EmulateFp8Path(c.weights.view(), c.x.values, m);
    const ParityMetrics p = ComputeParity(ref, y, n);
    BOOST_TEST_MESSAGE("FP8 path, massive=" << massive << ": " << p.ToString());
    BOOST_TEST(p.relative_l2_error > 0.01);
    BOOST_TEST(p.relative_l2_error < 0.05);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ffn_chain)

BOOST_AUTO_TEST_CASE(dp4a_error_compounds_through_the_chain) {
  FfnChainSpec spec;
  spec.d_model = 256;
  spec.d_ff = 512;
  spec.layers = 4;
  spec.massive_channels = 2;
  const FfnChain chain = MakeFfnChain(3, spec);
  const std::vector<double> ref = RunFfnChain(chain, ReferenceGemvFn());
  const ParityMetrics fl = ComputeParity(ref, RunFfnChain(chain, FloatPathGemvFn()));
  const ParityMetrics dp = ComputeParity(ref, RunFfnChain(chain, Dp4aGemvFn()));

  spec.massive_channels = 0;
  const FfnChain plain_chain = MakeFfnChain(3, spec);
  const std::vector<double> plain_ref = RunFfnChain(plain_chain, ReferenceGemvFn());
  const ParityMetrics dp_plain = ComputeParity(plain_ref, RunFfnChain(plain_chain, Dp4aGemvFn()));

  BOOST_TEST_MESSAGE("chain float vs fp64:         " << fl.ToString());
  BOOST_TEST_MESSAGE("chain DP4A vs fp64:          " << dp.ToString());
  BOOST_TEST_MESSAGE("plain chain DP4A vs fp64:    " << dp_plain.ToString());
  BOOST_TEST(fl.cosine > 0.999999);
  BOOST_TEST(dp.cosine < fl.cosine);
  BOOST_TEST(dp.cosine < 0.995);
  BOOST_TEST(dp.relative_l2_error > 5 * dp_plain.relative_l2_error);
  BOOST_TEST(dp_plain.cosine > 0.9998);
}

BOOST_AUTO_TEST_SUITE_END()
