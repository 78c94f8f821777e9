// ggml tensor decoding: every type decoded from blocks built byte by byte in
// this file, with the expected weights computed here from the format's
// definition (scales chosen as powers of two, so every expected value is
// exact in float and the comparison is exact); Q4_K/Q6_K agree with the
// kernels' dequantisers; every error path; requantisation to Q4_K/Q6_K with
// zero-padded rows.
#define BOOST_TEST_MODULE kernels_ggml_decode
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ggml_blocks_testing.h"
#include "kpolicy/kernels/ggml_decode.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/workload.h"

using namespace kpolicy::kernels;
using kpolicy::ErrorCode;
namespace kt = kpolicy::kernels::testing;

namespace {

// fp16 bits of the powers of two and small values the blocks use.
constexpr uint16_t kHalfHalf = 0x3800, kHalfQuarter = 0x3400, kHalfEighth = 0x3000,
                   kHalfSixteenth = 0x2C00, kHalfMinusOne = 0xBC00, kHalfTwo = 0x4000;

template <typename T>
void Append(std::vector<uint8_t>* bytes, const T& value) {
  const size_t at = bytes->size();
  bytes->resize(at + sizeof(T));
  std::memcpy(bytes->data() + at, &value, sizeof(T));
}

GgufTensor MakeTensor(GgmlType type, std::vector<uint64_t> dims, std::vector<uint8_t> bytes,
                      std::string name = "t") {
  GgufTensor t;
  t.info.name = std::move(name);
  t.info.type = type;
  t.info.elements = 1;
  for (uint64_t d : dims) t.info.elements *= d;
  t.info.dims = std::move(dims);
  t.info.byte_size = bytes.size();
  t.bytes = std::move(bytes);
  return t;
}

std::vector<float> MustDecode(const GgufTensor& t) {
  auto decoded = DecodeTensor(t);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? std::string() : decoded.error().ToString()));
  return *decoded;
}

// The nibble pattern of the legacy blocks: byte j = j (low), 15 - j (high),
// so weight j has code j and weight j + 16 code 15 - j.
template <typename Block>
void FillNibbles(Block* b) {
  for (int j = 0; j < 16; ++j) b->qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
}
int NibbleCode(int i) { return i < 16 ? i : 15 - (i - 16); }

// A 5-bit code's high bit for the Q5 blocks: bit i of 0xA5A5F00F.
constexpr uint32_t kHighBits = 0xA5A5F00Fu;
int FiveBitCode(int i) { return NibbleCode(i) | static_cast<int>(((kHighBits >> i) & 1u) << 4); }

template <typename T>
void ExpectError(const kpolicy::Expected<T>& s, ErrorCode code, const std::string& needle) {
  BOOST_REQUIRE_MESSAGE(!s.ok(), "expected an error containing '" << needle << "'");
  BOOST_TEST((s.error().code == code), s.error().ToString());
  BOOST_TEST(s.error().message.find(needle) != std::string::npos,
             s.error().ToString() << " lacks '" << needle << "'");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(element_types)

BOOST_AUTO_TEST_CASE(f32_is_copied) {
  const std::vector<float> values = {1.5f, -2.25f, 0.0f, 3e-5f, -1e30f, 7.0f};
  std::vector<uint8_t> bytes;
  for (float v : values) Append(&bytes, v);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kF32, {3, 2}, bytes)) == values, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(f16_is_ieee_half) {
  // 1, -2, 65504 (largest), 2^-24 (smallest subnormal), 2^-14 (smallest normal), 1/3 rounded.
  const std::vector<uint16_t> bits = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x3555};
  const std::vector<float> expected = {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -14),
                                       1365.0f / 4096.0f};
  std::vector<uint8_t> bytes;
  for (uint16_t b : bits) Append(&bytes, b);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kF16, {6}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bf16_is_the_top_half_of_a_float) {
  // 0x3F80 = 1, 0xC040 = -3, 0x4049 = 3.140625, 0x0001 = 2^-133 (a float subnormal).
  const std::vector<uint16_t> bits = {0x3F80, 0xC040, 0x4049, 0x0001};
  const std::vector<float> expected = {1.0f, -3.0f, 3.140625f, std::ldexp(1.0f, -133)};
  std::vector<uint8_t> bytes;
  for (uint16_t b : bits) Append(&bytes, b);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kBF16, {4}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(legacy_blocks)

BOOST_AUTO_TEST_CASE(q4_0_is_d_times_q_minus_8) {
  BlockQ4_0 b{};
  b.d = kHalfHalf;
  FillNibbles(&b);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(32);
  for (int i = 0; i < 32; ++i) expected[i] = 0.5f * static_cast<float>(NibbleCode(i) - 8);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ4_0, {32}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q4_1_is_d_times_q_plus_m) {
  BlockQ4_1 b{};
  b.d = kHalfQuarter;
  b.m = kHalfMinusOne;
  FillNibbles(&b);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(32);
  for (int i = 0; i < 32; ++i) expected[i] = 0.25f * static_cast<float>(NibbleCode(i)) - 1.0f;
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ4_1, {32}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q5_0_is_d_times_q_minus_16) {
  BlockQ5_0 b{};
  b.d = kHalfHalf;
  std::memcpy(b.qh, &kHighBits, 4);
  FillNibbles(&b);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(32);
  for (int i = 0; i < 32; ++i) expected[i] = 0.5f * static_cast<float>(FiveBitCode(i) - 16);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ5_0, {32}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q5_1_is_d_times_q_plus_m) {
  BlockQ5_1 b{};
  b.d = kHalfEighth;
  b.m = kHalfTwo;
  std::memcpy(b.qh, &kHighBits, 4);
  FillNibbles(&b);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(32);
  for (int i = 0; i < 32; ++i) expected[i] = 0.125f * static_cast<float>(FiveBitCode(i)) + 2.0f;
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ5_1, {32}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q8_0_is_d_times_q_over_two_blocks) {
  // Two blocks, so the second block's scale and offset are exercised too.
  std::vector<uint8_t> bytes;
  std::vector<float> expected;
  const uint16_t scales[2] = {kHalfSixteenth, kHalfTwo};
  const float scale_values[2] = {0.0625f, 2.0f};
  for (int blk = 0; blk < 2; ++blk) {
    BlockQ8_0 b{};
    b.d = scales[blk];
    for (int i = 0; i < 32; ++i) {
      b.qs[i] = static_cast<int8_t>(blk == 0 ? 8 * i - 128 : 127 - 8 * i);
      expected.push_back(scale_values[blk] * static_cast<float>(b.qs[i]));
    }
    Append(&bytes, b);
  }
  BOOST_TEST(expected.front() == -8.0f);  // -128 / 16: the code's full range is used
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ8_0, {64}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(k_quants)

// Codes drawn from a fixed seed so every nibble and high-bit position is hit
// with both values.
template <int kMax>
void RandomCodes(uint32_t seed, int (&codes)[256]) {
  std::mt19937 rng(seed);
  for (int& c : codes) c = static_cast<int>(rng() % (kMax + 1));
}

BOOST_AUTO_TEST_CASE(q4_k_is_d_sc_q_minus_dmin_m) {
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(63 - 9 * j);  // 63 down to 0: high bits set and clear
    m[j] = static_cast<uint8_t>(7 * j + 13);   // 13 .. 62
  }
  int codes[256];
  RandomCodes<15>(1, codes);
  const BlockQ4K b = kt::PackQ4K(kHalfQuarter, kHalfEighth, sc, m, codes);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(256);
  for (int i = 0; i < 256; ++i) expected[i] = 0.25f * sc[i / 32] * codes[i] - 0.125f * m[i / 32];
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ4_K, {256}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q5_k_adds_a_fifth_bit) {
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(5 * j + 27);  // 27 .. 62
    m[j] = static_cast<uint8_t>(63 - 8 * j);   // 63 .. 7
  }
  int codes[256];
  RandomCodes<31>(2, codes);
  const BlockQ5K b = kt::PackQ5K(kHalfEighth, kHalfSixteenth, sc, m, codes);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(256);
  for (int i = 0; i < 256; ++i) expected[i] = 0.125f * sc[i / 32] * codes[i] - 0.0625f * m[i / 32];
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ5_K, {256}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q6_k_is_d_sc_q_minus_32) {
  int8_t scales[16];
  for (int j = 0; j < 16; ++j) scales[j] = static_cast<int8_t>(j % 2 == 0 ? -128 + 17 * j : 127 - 13 * j);
  int codes[256];
  RandomCodes<63>(3, codes);
  const BlockQ6K b = kt::PackQ6K(kHalfSixteenth, scales, codes);
  std::vector<uint8_t> bytes;
  Append(&bytes, b);
  std::vector<float> expected(256);
  for (int i = 0; i < 256; ++i) expected[i] = 0.0625f * scales[i / 16] * (codes[i] - 32);
  BOOST_TEST(MustDecode(MakeTensor(GgmlType::kQ6_K, {256}, bytes)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q4_k_and_q6_k_agree_with_the_kernels_dequantisers) {
  for (WeightFormat format : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    const WeightMatrix w = RandomQuantizedWeights(11, format, 5, 512);
    const GgmlType type = format == WeightFormat::kQ4K ? GgmlType::kQ4_K : GgmlType::kQ6_K;
    const std::vector<float> decoded = MustDecode(MakeTensor(type, {512, 5}, w.bytes));
    BOOST_TEST(decoded == DequantizeAll(w.view()), boost::test_tools::per_element());
    // A row range: rows 2..3 are the same floats as in the whole decode.
    std::vector<float> rows(2 * 512);
    BOOST_REQUIRE(DecodeRows(MakeTensor(type, {512, 5}, w.bytes), 2, 2, rows).ok());
    BOOST_TEST(rows == std::vector<float>(decoded.begin() + 2 * 512, decoded.begin() + 4 * 512),
               boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(tensor_bytes) {
  BOOST_TEST(*GgmlTensorBytes(GgmlType::kQ4_0, 64) == 36u);
  BOOST_TEST(*GgmlTensorBytes(GgmlType::kQ5_K, 512) == 352u);
  BOOST_TEST(*GgmlTensorBytes(GgmlType::kBF16, 3) == 6u);
  ExpectError(GgmlTensorBytes(static_cast<GgmlType>(200), 32), ErrorCode::kInvalidArgument, "unknown ggml type 200");
  ExpectError(GgmlTensorBytes(GgmlType::kQ2_K, 256), ErrorCode::kUnsupported, "Q2_K");
  ExpectError(GgmlTensorBytes(GgmlType::kQ4_0, 33), ErrorCode::kInvalidArgument, "block size 32");
  ExpectError(GgmlTensorBytes(GgmlType::kF32, uint64_t{1} << 62), ErrorCode::kInvalidArgument, "overflow");
  ExpectError(GgmlTensorBytes(GgmlType::kQ8_0, ~uint64_t{0} - 31), ErrorCode::kInvalidArgument, "overflow");
}

BOOST_AUTO_TEST_CASE(can_decode) {
  for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ4_0, GgmlType::kQ4_1,
                     GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ5_K,
                     GgmlType::kQ6_K}) {
    BOOST_TEST(CanDecode(t));
  }
  for (GgmlType t : {GgmlType::kQ8_1, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ8_K, GgmlType::kIQ4_NL,
                     GgmlType::kI32, GgmlType::kF64, GgmlType::kMXFP4}) {
    BOOST_TEST(!CanDecode(t));
  }
}

BOOST_AUTO_TEST_CASE(decode_rows_rejects_bad_requests) {
  std::vector<uint8_t> bytes(2 * 3 * 18, 0);  // Q4_0, 3 rows of 64
  const GgufTensor t = MakeTensor(GgmlType::kQ4_0, {64, 3}, bytes, "blk.0.attn_q.weight");
  std::vector<float> out(3 * 64);
  BOOST_TEST(DecodeRows(t, 0, 3, out).ok());
  BOOST_TEST(DecodeRows(t, 3, 0, out).ok());  // an empty range at the end
  ExpectError(DecodeRows(t, 1, 3, out), ErrorCode::kInvalidArgument, "blk.0.attn_q.weight");
  ExpectError(DecodeRows(t, -1, 1, out), ErrorCode::kInvalidArgument, "outside its 3 rows");
  ExpectError(DecodeRows(t, 0, -1, out), ErrorCode::kInvalidArgument, "outside");
  ExpectError(DecodeRows(t, 4, 0, out), ErrorCode::kInvalidArgument, "outside");
  ExpectError(DecodeRows(t, 0, 3, std::span<float>(out).first(3 * 64 - 1)), ErrorCode::kInvalidArgument,
              "output holds 191 floats");

  bytes.pop_back();
  const GgufTensor short_t = MakeTensor(GgmlType::kQ4_0, {64, 3}, bytes, "short");
  ExpectError(DecodeRows(short_t, 0, 1, out), ErrorCode::kInvalidInput, "too short");
  BOOST_TEST(!DecodeTensor(short_t).ok());

  const GgufTensor q2k = MakeTensor(GgmlType::kQ2_K, {256}, std::vector<uint8_t>(84), "q2");
  ExpectError(DecodeRows(q2k, 0, 1, out), ErrorCode::kUnsupported, "tensor 'q2' (Q2_K [256])");
  BOOST_TEST(!DecodeTensor(q2k).ok());

  const GgufTensor ragged = MakeTensor(GgmlType::kQ4_K, {128, 2}, std::vector<uint8_t>(144), "ragged");
  ExpectError(DecodeRows(ragged, 0, 1, out), ErrorCode::kInvalidInput, "block size 256");
  ExpectError(DecodeRows(MakeTensor(GgmlType::kF32, {}, {}, "scalar"), 0, 1, out), ErrorCode::kInvalidInput,
              "no dimensions");
  ExpectError(DecodeRows(MakeTensor(GgmlType::kF32, {1, uint64_t{1} << 62, 4}, {}, "huge"), 0, 1, out),
              ErrorCode::kInvalidInput, "overflow");
}

BOOST_AUTO_TEST_CASE(higher_ranks_are_rows_of_ne0) {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  for (int i = 0; i < 24; ++i) {
    values.push_back(static_cast<float>(i));
    Append(&bytes, values.back());
  }
  const GgufTensor t = MakeTensor(GgmlType::kF32, {2, 3, 4}, bytes);
  std::vector<float> out(2 * 2);
  BOOST_REQUIRE(DecodeRows(t, 10, 2, out).ok());
  BOOST_TEST(out == std::vector<float>({20, 21, 22, 23}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(requantisation)

BOOST_AUTO_TEST_CASE(block_multiples_are_quantize_weights) {
  const std::vector<float> values = GaussianWeights(21, 3, 512);
  for (WeightFormat format : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    auto m = RequantizeMatrix(format, values, 3, 512);
    BOOST_REQUIRE(m.ok());
    BOOST_TEST(m->cols == 512);
    BOOST_TEST(m->bytes == QuantizeWeights(format, values, 3, 512).bytes);
  }
}

BOOST_AUTO_TEST_CASE(short_rows_are_zero_padded_and_exact) {
  constexpr int64_t kRows = 7, kCols = 300, kPadded = 512;
  const std::vector<float> values = GaussianWeights(22, kRows, kCols);
  std::vector<float> padded_values(kRows * kPadded, 0.0f);
  for (int64_t r = 0; r < kRows; ++r) {
    std::copy_n(values.begin() + r * kCols, kCols, padded_values.begin() + r * kPadded);
  }
  const std::vector<float> x = GaussianVector(23, kCols);
  std::vector<float> x_padded(x);
  x_padded.resize(kPadded, 0.0f);
  for (WeightFormat format : {WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    auto m = RequantizeMatrix(format, values, kRows, kCols);
    BOOST_REQUIRE(m.ok());
    BOOST_TEST(m->rows == kRows);
    BOOST_TEST(m->cols == kPadded);
    // The definition: QuantizeWeights of the zero-padded matrix.
    BOOST_TEST(m->bytes == QuantizeWeights(format, padded_values, kRows, kPadded).bytes);
    // The padded GEMV against zero-padded activations equals the fp64 dot
    // product over the real columns alone: the padded weights (not zero in
    // general, since a sub-block that mixes real values and zeros has a
    // nonzero min) only ever multiply exact zeros.
    const std::vector<double> y = ReferenceGemv(m->view(), x_padded, 1);
    std::vector<double> row(kPadded);
    for (int64_t r = 0; r < kRows; ++r) {
      ReferenceRow(m->view(), r, row);
      double unpadded = 0;
      for (int64_t c = 0; c < kCols; ++c) unpadded += row[c] * x[c];
      BOOST_TEST(y[r] == unpadded);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_requests) {
  const std::vector<float> values(2 * 300, 1.0f);
  ExpectError(RequantizeMatrix(WeightFormat::kF16, values, 2, 300), ErrorCode::kInvalidArgument, "F16");
  ExpectError(RequantizeMatrix(WeightFormat::kQ4K, values, 3, 300), ErrorCode::kInvalidArgument, "3 x 300");
  ExpectError(RequantizeMatrix(WeightFormat::kQ6K, values, -2, -300), ErrorCode::kInvalidArgument, "given 600");
  ExpectError(RequantizeMatrix(WeightFormat::kQ6K, values, 2, 0), ErrorCode::kInvalidArgument, "2 x 0");
}

BOOST_AUTO_TEST_SUITE_END()
