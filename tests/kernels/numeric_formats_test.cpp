// fp16, bf16 and FP8 E4M3: every bit pattern round-trips, rounding is to nearest
// even at every midpoint, and the edges (subnormals, overflow, NaN) behave
// as the formats define.
#define BOOST_TEST_MODULE kernels_numeric_formats
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/workload.h"

using namespace kpolicy::kernels;

namespace {

bool IsHalfNaN(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }

}  // namespace

BOOST_AUTO_TEST_SUITE(half)

BOOST_AUTO_TEST_CASE(every_half_round_trips_except_nan_payloads) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (IsHalfNaN(static_cast<uint16_t>(h))) {
      BOOST_REQUIRE(std::isnan(f));
      BOOST_REQUIRE(IsHalfNaN(FloatToHalf(f)));
      continue;
    }
    BOOST_REQUIRE_EQUAL(FloatToHalf(f), h);
  }
}

BOOST_AUTO_TEST_CASE(known_values) {
  BOOST_TEST(HalfToFloat(0x3C00) == 1.0f);
  BOOST_TEST(HalfToFloat(0xC000) == -2.0f);
  BOOST_TEST(HalfToFloat(0x7BFF) == 65504.0f);
  BOOST_TEST(HalfToFloat(0x0400) == 0x1p-14f);  // smallest normal
  BOOST_TEST(HalfToFloat(0x0001) == 0x1p-24f);  // smallest subnormal
  BOOST_TEST(HalfToFloat(0x03FF) == 1023 * 0x1p-24f);
  BOOST_TEST(std::isinf(HalfToFloat(0x7C00)));
  BOOST_TEST(std::signbit(HalfToFloat(0x8000)));
  BOOST_TEST(FloatToHalf(-0.0f) == 0x8000);
  BOOST_TEST(FloatToHalf(0.1f) == 0x2E66);
}

BOOST_AUTO_TEST_CASE(midpoints_round_to_even_and_neighbours_to_nearest) {
  // Between two adjacent finite halves, the midpoint (exact in float) must
  // go to the one with an even mantissa, and the floats just either side of
  // it to the nearer one. Covers subnormals, the normal/subnormal border
  // and every binade.
  for (uint32_t h = 0; h < 0x7BFF; ++h) {
    const float lo = HalfToFloat(static_cast<uint16_t>(h));
    const float hi = HalfToFloat(static_cast<uint16_t>(h + 1));
    const float mid = (lo + hi) / 2;
    const uint32_t even = (h % 2 == 0) ? h : h + 1;
    BOOST_REQUIRE_EQUAL(FloatToHalf(mid), even);
    BOOST_REQUIRE_EQUAL(FloatToHalf(std::nextafter(mid, lo)), h);
    BOOST_REQUIRE_EQUAL(FloatToHalf(std::nextafter(mid, hi)), h + 1);
    BOOST_REQUIRE_EQUAL(FloatToHalf(-mid), even | 0x8000);
  }
}

BOOST_AUTO_TEST_CASE(overflow_underflow_and_nan) {
  // 65520 is the midpoint between 65504 (odd mantissa) and 2^16: ties to
  // even go up, to inf.
  BOOST_TEST(FloatToHalf(65519.996f) == 0x7BFF);
  BOOST_TEST(FloatToHalf(65520.0f) == 0x7C00);
  BOOST_TEST(FloatToHalf(1e10f) == 0x7C00);
  BOOST_TEST(FloatToHalf(-std::numeric_limits<float>::infinity()) == 0xFC00);
  // 2^-25 is half the smallest subnormal: a tie, to even (zero).
  BOOST_TEST(FloatToHalf(0x1p-25f) == 0x0000);
  BOOST_TEST(FloatToHalf(std::nextafter(0x1p-25f, 1.0f)) == 0x0001);
  BOOST_TEST(FloatToHalf(0x1p-26f) == 0x0000);
  BOOST_TEST(FloatToHalf(-std::numeric_limits<float>::denorm_min()) == 0x8000);
  BOOST_TEST(IsHalfNaN(FloatToHalf(std::numeric_limits<float>::quiet_NaN())));
  BOOST_TEST(IsHalfNaN(FloatToHalf(std::bit_cast<float>(0x7F800001u))));  // signalling, low payload
}

#if defined(__FLT16_MANT_DIG__)
BOOST_AUTO_TEST_CASE(agrees_with_the_compiler_on_random_floats) {
  // An independent oracle where the compiler has _Float16 (GCC 12 on x86-64).
  Rng rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(rng.NextU64()));
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    BOOST_REQUIRE_EQUAL(FloatToHalf(f), std::bit_cast<uint16_t>(h));
  }
}
#endif

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bf16)

bool IsBf16NaN(uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0; }

BOOST_AUTO_TEST_CASE(every_bf16_round_trips_except_nan_payloads) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = Bf16ToFloat(static_cast<uint16_t>(b));
    BOOST_REQUIRE_EQUAL(std::bit_cast<uint32_t>(f), b << 16);
    if (IsBf16NaN(static_cast<uint16_t>(b))) {
      BOOST_REQUIRE(std::isnan(f));
      BOOST_REQUIRE(IsBf16NaN(FloatToBf16(f)));
      continue;
    }
    BOOST_REQUIRE_EQUAL(FloatToBf16(f), b);
  }
}

BOOST_AUTO_TEST_CASE(midpoints_round_to_even_and_neighbours_to_nearest) {
  // As for fp16: subnormals, the subnormal/normal border, every binade, up
  // to the largest finite bf16 (0x7F7F).
  for (uint32_t b = 0; b < 0x7F7F; ++b) {
    const float lo = Bf16ToFloat(static_cast<uint16_t>(b));
    const float hi = Bf16ToFloat(static_cast<uint16_t>(b + 1));
    const float mid = lo + (hi - lo) / 2;  // 9 significant bits: exact (lo + hi overflows at the top)
    const uint32_t even = (b % 2 == 0) ? b : b + 1;
    BOOST_REQUIRE_EQUAL(FloatToBf16(mid), even);
    BOOST_REQUIRE_EQUAL(FloatToBf16(std::nextafter(mid, lo)), b);
    BOOST_REQUIRE_EQUAL(FloatToBf16(std::nextafter(mid, hi)), b + 1);
    BOOST_REQUIRE_EQUAL(FloatToBf16(-mid), even | 0x8000);
  }
}

BOOST_AUTO_TEST_CASE(known_values_range_and_nan) {
  BOOST_TEST(FloatToBf16(1.0f) == 0x3F80);
  BOOST_TEST(FloatToBf16(-2.0f) == 0xC000);
  BOOST_TEST(FloatToBf16(-0.0f) == 0x8000);
  // 100800 (a Q8_1 block sum fp16 cannot hold) lies in [2^16, 2^17), where
  // the bf16 step is 2^16 * 2^-7 = 512: 196.875 steps, stored as 197 * 512.
  BOOST_TEST(Bf16ToFloat(FloatToBf16(100800.0f)) == 100864.0f);
  BOOST_TEST(FloatToHalf(100800.0f) == 0x7C00);
  // The largest finite bf16 is (2 - 2^-7) * 2^127; the midpoint above it
  // (float bits 0x7F7F8000) ties to even, which is inf (0x7F80).
  BOOST_TEST(FloatToBf16(std::bit_cast<float>(0x7F7F7FFFu)) == 0x7F7F);
  BOOST_TEST(FloatToBf16(std::bit_cast<float>(0x7F7F8000u)) == 0x7F80);
  BOOST_TEST(FloatToBf16(std::numeric_limits<float>::max()) == 0x7F80);
  BOOST_TEST(FloatToBf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  BOOST_TEST(FloatToBf16(std::numeric_limits<float>::denorm_min()) == 0x0000);  // 2^-149 < half of 2^-133
  BOOST_TEST(FloatToBf16(0x1p-133f) == 0x0001);                                 // smallest subnormal bf16
  BOOST_TEST(IsBf16NaN(FloatToBf16(std::numeric_limits<float>::quiet_NaN())));
  BOOST_TEST(IsBf16NaN(FloatToBf16(std::bit_cast<float>(0x7F800001u))));  // payload only in the low bits
  BOOST_TEST(IsBf16NaN(FloatToBf16(std::bit_cast<float>(0xFFFFFFFFu))));  // would carry into the sign
}

// The bound the Q8_1 sum's error derivations use: |bf16(x) - x| <= 2^-8 |x|
// for every normal x. An 8-bit significand (7 stored bits) steps by 2^-7
// of the binade's power of two, so the error is at most half that, 2^-8,
// relative to that power and so to |x| (the unit roundoff 2^-p, p = 8; fp16's
// is 2^-11).
BOOST_AUTO_TEST_CASE(relative_error_is_at_most_two_to_the_minus_eight) {
  Rng rng(99);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(rng.NextU64()));
    if (!std::isnormal(f) || std::fabs(f) > 3.38e38f) continue;
    const double back = Bf16ToFloat(FloatToBf16(f));
    BOOST_REQUIRE_LE(std::fabs(back - f), 0x1p-8 * std::fabs(double(f)));
    worst = std::max(worst, std::fabs(back - f) / std::fabs(double(f)));
  }
  // Attained (near significand 1.0 and half a step off): the bound is tight.
  BOOST_TEST(worst > 0.9 * 0x1p-8);
}

#if defined(__BFLT16_MANT_DIG__)
BOOST_AUTO_TEST_CASE(agrees_with_the_compiler_on_random_floats) {
  // An independent oracle where the compiler has __bf16 (GCC 13 on x86-64).
  Rng rng(54321);
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(rng.NextU64()));
    if (std::isnan(f)) continue;
    const __bf16 b = static_cast<__bf16>(f);
    BOOST_REQUIRE_EQUAL(FloatToBf16(f), std::bit_cast<uint16_t>(b));
  }
}
#endif

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fp8_e4m3)

BOOST_AUTO_TEST_CASE(every_code_round_trips_except_nan) {
  for (int c = 0; c < 256; ++c) {
    const float f = Fp8E4M3ToFloat(static_cast<uint8_t>(c));
    if ((c & 0x7F) == 0x7F) {
      BOOST_REQUIRE(std::isnan(f));
      BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(f) & 0x7F, 0x7F);
      continue;
    }
    BOOST_REQUIRE(std::isfinite(f));
    BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(f), c);
  }
}

BOOST_AUTO_TEST_CASE(known_values) {
  BOOST_TEST(Fp8E4M3ToFloat(0x38) == 1.0f);   // exponent field 7 = 2^0
  BOOST_TEST(Fp8E4M3ToFloat(0x7E) == 448.0f);  // 1.75 * 2^8
  BOOST_TEST(Fp8E4M3ToFloat(0xFE) == -448.0f);
  BOOST_TEST(Fp8E4M3ToFloat(0x08) == 0x1p-6f);  // smallest normal
  BOOST_TEST(Fp8E4M3ToFloat(0x01) == 0x1p-9f);  // smallest subnormal
  BOOST_TEST(Fp8E4M3ToFloat(0x07) == 7 * 0x1p-9f);
  BOOST_TEST(Fp8E4M3ToFloat(0x78) == 256.0f);  // 0x78..0x7E are normal, not inf
  BOOST_TEST(FloatToFp8E4M3(-0.0f) == 0x80);
}

BOOST_AUTO_TEST_CASE(saturates_and_keeps_nan) {
  BOOST_TEST(FloatToFp8E4M3(448.0f) == 0x7E);
  BOOST_TEST(FloatToFp8E4M3(449.0f) == 0x7E);
  BOOST_TEST(FloatToFp8E4M3(1e30f) == 0x7E);
  BOOST_TEST(FloatToFp8E4M3(-1e30f) == 0xFE);
  BOOST_TEST(FloatToFp8E4M3(std::numeric_limits<float>::infinity()) == 0x7E);
  BOOST_TEST(FloatToFp8E4M3(std::numeric_limits<float>::quiet_NaN()) == 0x7F);
  BOOST_TEST(FloatToFp8E4M3(-std::numeric_limits<float>::quiet_NaN()) == 0xFF);
  // Half the smallest subnormal is a tie to zero; just above goes to 2^-9.
  BOOST_TEST(FloatToFp8E4M3(0x1p-10f) == 0x00);
  BOOST_TEST(FloatToFp8E4M3(std::nextafter(0x1p-10f, 1.0f)) == 0x01);
}

BOOST_AUTO_TEST_CASE(encoding_is_the_nearest_code_ties_to_even) {
  // Brute-force oracle: the nearest of all 253 finite non-negative codes
  // (clamped to 448), ties to the even code.
  std::vector<float> values;
  for (int c = 0; c <= 0x7E; ++c) values.push_back(Fp8E4M3ToFloat(static_cast<uint8_t>(c)));
  auto oracle = [&](float a) {
    int best = 0;
    for (int c = 1; c <= 0x7E; ++c) {
      const float dc = std::fabs(values[c] - a), db = std::fabs(values[best] - a);
      if (dc < db || (dc == db && c % 2 == 0)) best = c;
    }
    return best;
  };
  // Every midpoint, and random magnitudes spread over all binades.
  for (int c = 0; c < 0x7E; ++c) {
    const float mid = (values[c] + values[c + 1]) / 2;
    BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(mid), oracle(mid));
    BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(mid), c % 2 == 0 ? c : c + 1);
  }
  Rng rng(99);
  for (int i = 0; i < 20000; ++i) {
    const float a = static_cast<float>(std::exp2(-12.0 + 21.0 * rng.Uniform()));
    BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(a), oracle(a));
    BOOST_REQUIRE_EQUAL(FloatToFp8E4M3(-a), oracle(a) | 0x80);
  }
}

BOOST_AUTO_TEST_CASE(per_tensor_scaling) {
  const std::vector<float> v = {0.5f, -3.0f, 1.5f, 0.0f, std::numeric_limits<float>::infinity()};
  BOOST_TEST(FiniteAbsmax(v) == 3.0f);
  const Fp8Tensor t = QuantizeFp8PerTensor(v);
  BOOST_TEST(t.scale == 3.0f / 448.0f);
  BOOST_TEST(t.codes[1] == 0xFE);  // the absmax lands on the largest code
  std::vector<float> back(v.size());
  DequantizeFp8(t.codes, t.scale, back);
  BOOST_TEST(back[1] == -3.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(back[3] == 0.0f);
  BOOST_TEST(Fp8ScaleForAbsmax(0.0f) == 1.0f);

  // Gaussian round trip: 3 mantissa bits give a relative step of 2^-3 to
  // 2^-4 within a binade, so uniform rounding error is about
  // 2^-3.5 / sqrt(12) ~ 0.026 of each value's magnitude, i.e. ~0.026 of the
  // RMS. Underflow is negligible: absmax ~5 sigma puts the smallest normal
  // at 2^-6 * 5/448 ~ 2e-4 sigma.
  const std::vector<float> g = GaussianVector(3, 1 << 16);
  const Fp8Tensor gq = QuantizeFp8PerTensor(g);
  std::vector<float> gb(g.size());
  DequantizeFp8(gq.codes, gq.scale, gb);
  double err = 0, sig = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    err += (gb[i] - g[i]) * (gb[i] - g[i]);
    sig += g[i] * g[i];
  }
  const double rel = std::sqrt(err / sig);
  BOOST_TEST_MESSAGE("FP8 E4M3 per-tensor relative RMS error: " << rel);
  BOOST_TEST(rel > 0.018);
  BOOST_TEST(rel < 0.032);
}

BOOST_AUTO_TEST_SUITE_END()
