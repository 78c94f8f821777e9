// Model-level parity (model_parity.h) and the variant MatVec
// (variant_matvec.h) on hand-made logits and tiny synthetic models: the
// comparison's figures against values worked out by hand, requantisation
// (padding, the tied output, the reference over the same blocks), as-stored
// selection, thread-count independence, and bad input.
#define BOOST_TEST_MODULE model_parity
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kpolicy/kernels/emulation.h"
#include "kpolicy/model/model_parity.h"
#include "kpolicy/model/variant_matvec.h"
#include "synthetic_model.h"

using namespace kpolicy;
using namespace kpolicy::model;
using namespace kpolicy::model::synthetic;
using kernels::WeightFormat;

namespace {

using Rows = std::vector<std::vector<double>>;

// A loaded synthetic model with its fp64 reference over the file.
struct Loaded {
  explicit Loaded(const Synthetic& s, const std::string& tag) {
    auto m = LoadModel(WriteModel(s, tag));
    BOOST_REQUIRE_MESSAGE(m.ok(), Why(m));
    model.emplace(std::move(*m));
    auto r = ReferenceMatVec::Create(model->weights, 1);
    BOOST_REQUIRE_MESSAGE(r.ok(), Why(r));
    reference.emplace(std::move(*r));
  }
  std::optional<Model> model;
  std::optional<ReferenceMatVec> reference;
};

GemvFunction FloatPath() { return CpuEmulation(kernels::Arithmetic::kFloatActivations); }
GemvFunction Dp4aPath() { return CpuEmulation(kernels::Arithmetic::kDp4aQ8_1); }

ModelParity Measure(Loaded& l, const std::vector<int32_t>& tokens, MatVec& reference, MatVec& candidate) {
  auto parity = MeasureModelParity(l.model->config, l.model->weights, tokens, reference, candidate);
  BOOST_REQUIRE_MESSAGE(parity.ok(), Why(parity));
  return *parity;
}

const std::vector<int32_t> kTokens = {3, 17, 5, 42, 8, 8, 21, 0, 33, 12};

// The float path differs from the fp64 reference over the same weights by
// fp32 rounding only: the activations rounded to float (relative 2^-24)
// and K <= 256 fused multiply-adds in fp32, a relative error of at most
// K * 2^-24 ~ 1.5e-5 of sum |w x| per product (Higham's bound, far above
// the ~sqrt(K) * 2^-24 ~ 1e-6 typical). Two layers of a normalised model
// keep that order, so the logits' relative error e stays below ~1e-4 and
// 1 - cosine ~ e^2 / 2 below 1e-8; kFloatCosineFloor = 1 - 1e-6 leaves a
// factor of 100. Requantising these random weights to Q4_K moves the
// logits far more (min cosine 0.981 against the file's F32 weights in
// requantized_variant_... below), which is why that comparison must use the
// reference over the same blocks.
constexpr double kFloatCosineFloor = 1 - 1e-6;

}  // namespace

BOOST_AUTO_TEST_CASE(compare_logits_reports_each_position_and_the_summary) {
  const std::vector<int32_t> tokens = {7, 8, 9};
  const Rows reference = {{1, 2, 3}, {0, 1, 0}, {4, 3, 0}};
  const Rows candidate = {{1, 2, 3}, {0, 2, 0}, {3, 3.5, 0}};
  auto parity = CompareLogits(tokens, reference, candidate);
  BOOST_REQUIRE_MESSAGE(parity.ok(), Why(parity));
  BOOST_REQUIRE_EQUAL(parity->size(), 3);
  BOOST_TEST(parity->positions[0].cosine == 1.0, boost::test_tools::tolerance(1e-15));
  // Cosine ignores scale: {0,1,0} and {0,2,0} agree completely.
  BOOST_TEST(parity->positions[1].cosine == 1.0, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(parity->positions[1].max_abs_difference == 1.0);
  // (4*3 + 3*3.5) / (5 * sqrt(9 + 12.25)) = 22.5 / (5 * 4.6097722...)
  const double cosine2 = 22.5 / (5.0 * std::sqrt(21.25));
  BOOST_TEST(parity->positions[2].cosine == cosine2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(parity->positions[2].reference_argmax == 0);
  BOOST_TEST(parity->positions[2].candidate_argmax == 1);
  BOOST_TEST(!parity->positions[2].argmax_agrees);
  BOOST_TEST(parity->positions[2].reference_margin == 1.0);
  BOOST_TEST(parity->positions[2].token == 9);
  BOOST_TEST(parity->min_cosine == cosine2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(parity->min_cosine_position == 2);
  BOOST_TEST(parity->argmax_agreement == 2);
  BOOST_TEST(parity->first_divergence == 2);
  BOOST_TEST(parity->non_finite_logits == 0);
  BOOST_TEST(FormatSummary(*parity).find("argmax 2/3, first divergence at 2") != std::string::npos,
             FormatSummary(*parity));
  JsonWriter json;
  WriteJson(*parity, json, false);
  BOOST_TEST(json.text().find("\"first_divergence\":2") != std::string::npos, json.text());
  BOOST_TEST(json.text().find("per_position") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(non_finite_logits_make_min_cosine_nan_and_are_counted) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<int32_t> tokens = {1, 2, 3};
  const Rows reference = {{1, 0}, {1, 0}, {1, 0}};
  const Rows candidate = {{1, 0}, {inf, nan}, {0.5, 0.5}};
  auto parity = CompareLogits(tokens, reference, candidate);
  BOOST_REQUIRE_MESSAGE(parity.ok(), Why(parity));
  BOOST_TEST(parity->non_finite_logits == 2);
  BOOST_TEST(parity->positions[1].non_finite == 2);
  // A later finite, lower cosine (0.7071 at position 2) does not hide it.
  BOOST_TEST(std::isnan(parity->min_cosine));
  BOOST_TEST(parity->min_cosine_position == 1);
  JsonWriter json;
  WriteJson(*parity, json);
  BOOST_TEST(json.text().find("\"min_cosine\":null") != std::string::npos, json.text());
  BOOST_TEST(FormatTable(*parity).find("non-finite 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(compare_logits_refuses_rows_that_do_not_match) {
  const std::vector<int32_t> tokens = {1, 2};
  BOOST_TEST(!CompareLogits(tokens, Rows{{1}}, Rows{{1}, {2}}).ok());
  BOOST_TEST(!CompareLogits(tokens, Rows{{1}, {1, 2}}, Rows{{1}, {2}}).ok());
}

BOOST_AUTO_TEST_CASE(requantized_variant_is_compared_with_the_reference_over_the_same_blocks) {
  Loaded l(MakeModel(Shape{}, 11), "parity_requant");
  const ModelWeights& weights = l.model->weights;
  auto q4 = FormatMatrices::Requantized(weights, WeightFormat::kQ4K, 2);
  BOOST_REQUIRE_MESSAGE(q4.ok(), Why(q4));
  // 7 matrices per layer and the tied output (token_embd), n_embd 64 padded
  // to one 256-column block.
  BOOST_TEST(q4->count() == 2 * 7 + 1);
  BOOST_TEST(q4->requantized());
  const kernels::WeightView* output = q4->Find("token_embd.weight");
  BOOST_REQUIRE(output != nullptr);
  BOOST_TEST(output->cols == 256);
  BOOST_TEST(output->rows == 50);

  auto same_blocks = RequantizedReference(weights, *q4, 1);
  BOOST_REQUIRE_MESSAGE(same_blocks.ok(), Why(same_blocks));
  // No matrix is wider than n_ff = 96 columns, so past 96 every input the
  // variant sees is padding and must be zero.
  int64_t nonzero_padding = 0;
  GemvFunction checked = [&](const kernels::WeightView& w, std::span<const float> x, int64_t m) {
    for (int64_t p = 0; p < m; ++p) {
      for (int64_t c = 96; c < w.cols; ++c) nonzero_padding += x[size_t(p * w.cols + c)] != 0.0f ? 1 : 0;
    }
    return kernels::EmulateFloatPath(w, x, m);
  };
  VariantMatVec variant(*q4, checked, *same_blocks, 1);
  const ModelParity isolated = Measure(l, kTokens, *same_blocks, variant);
  BOOST_TEST_MESSAGE("float path vs requantised reference: " << FormatSummary(isolated));
  BOOST_TEST(isolated.min_cosine >= kFloatCosineFloor);
  BOOST_TEST(isolated.argmax_agreement == isolated.size());
  BOOST_TEST(nonzero_padding == 0);
  // Every product ran through the variant: 15 matrices, one batch.
  BOOST_TEST(variant.variant_calls() == 15);

  // Against the file's F32 weights the same run measures the requantisation
  // too: a hundred times further from 1 at least.
  const ModelParity with_requantisation = Measure(l, kTokens, *l.reference, variant);
  BOOST_TEST_MESSAGE("float path vs file reference: " << FormatSummary(with_requantisation));
  BOOST_TEST(1 - with_requantisation.min_cosine > 100 * (1 - isolated.min_cosine));
}

BOOST_AUTO_TEST_CASE(untied_model_requantizes_its_output_but_not_the_looked_up_embedding) {
  Shape shape;
  shape.tied = false;
  Loaded l(MakeModel(shape, 12), "parity_untied");
  auto q6 = FormatMatrices::Requantized(l.model->weights, WeightFormat::kQ6K, 1);
  BOOST_REQUIRE_MESSAGE(q6.ok(), Why(q6));
  BOOST_TEST(q6->count() == 2 * 7 + 1);
  BOOST_TEST(q6->Find("output.weight") != nullptr);
  BOOST_TEST(q6->Find("token_embd.weight") == nullptr);
}

BOOST_AUTO_TEST_CASE(as_stored_runs_only_the_matrices_of_that_format) {
  Shape shape;
  shape.arch = "gemma3";  // head_dim from key_length, not n_embd / n_head
  shape.sliding_window = 4;
  shape.head_dim = 64;  // attn_output: 256 columns
  shape.n_ff = 256;     // ffn_down: 256 columns
  Synthetic s = MakeModel(shape, 13);
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    StoreAs(s, p + "attn_output.weight", WeightFormat::kQ4K);
    StoreAs(s, p + "ffn_down.weight", WeightFormat::kQ6K);
  }
  Loaded l(s, "parity_stored");
  auto q4 = FormatMatrices::AsStored(l.model->weights, WeightFormat::kQ4K);
  BOOST_REQUIRE_MESSAGE(q4.ok(), Why(q4));
  BOOST_TEST(q4->count() == 2);
  BOOST_TEST(!q4->requantized());
  BOOST_TEST(q4->Find("blk.1.attn_output.weight") != nullptr);
  BOOST_TEST(q4->Find("blk.1.ffn_down.weight") == nullptr);
  BOOST_TEST(q4->weight_count() == 2 * 64 * 256);

  // As stored, the file's reference already holds these blocks' weights.
  VariantMatVec float_path(*q4, FloatPath(), *l.reference, 1);
  const ModelParity f = Measure(l, kTokens, *l.reference, float_path);
  BOOST_TEST(f.min_cosine >= kFloatCosineFloor);
  BOOST_TEST(f.argmax_agreement == f.size());
  BOOST_TEST(float_path.variant_calls() == 2);
  BOOST_TEST(float_path.variant_multiply_adds() == 2 * 64 * 256 * int64_t(kTokens.size()));

  auto q6 = FormatMatrices::AsStored(l.model->weights, WeightFormat::kQ6K);
  BOOST_REQUIRE_MESSAGE(q6.ok(), Why(q6));
  BOOST_TEST(q6->count() == 2);
  VariantMatVec dp4a(*q6, Dp4aPath(), *l.reference, 1);
  const ModelParity d = Measure(l, kTokens, *l.reference, dp4a);
  BOOST_TEST_MESSAGE("Q6_K DP4A as stored: " << FormatSummary(d));
  BOOST_TEST(d.non_finite_logits == 0);
  // INT8 activations move the result more than fp32 rounding does.
  BOOST_TEST(d.min_cosine < f.min_cosine);
}

BOOST_AUTO_TEST_CASE(row_slices_over_threads_give_the_same_logits) {
  Shape shape;
  shape.n_vocab = 300;  // enough output rows to split
  Loaded l(MakeModel(shape, 14), "parity_threads");
  auto q4 = FormatMatrices::Requantized(l.model->weights, WeightFormat::kQ4K, 3);
  BOOST_REQUIRE_MESSAGE(q4.ok(), Why(q4));
  VariantMatVec one(*q4, Dp4aPath(), *l.reference, 1);
  VariantMatVec three(*q4, Dp4aPath(), *l.reference, 3);
  const ModelParity p = Measure(l, kTokens, one, three);
  for (const PositionParity& position : p.positions) BOOST_TEST(position.max_abs_difference == 0.0);
}

BOOST_AUTO_TEST_CASE(bad_formats_sizes_and_sequences_are_refused) {
  Loaded l(MakeModel(Shape{}, 15), "parity_bad");
  BOOST_TEST(!FormatMatrices::AsStored(l.model->weights, WeightFormat::kF32).ok());
  BOOST_TEST(!FormatMatrices::Requantized(l.model->weights, WeightFormat::kFp8E4M3).ok());
  auto q4 = FormatMatrices::Requantized(l.model->weights, WeightFormat::kQ4K, 1);
  BOOST_REQUIRE(q4.ok());
  GemvFunction short_result = [](const kernels::WeightView&, std::span<const float>, int64_t) {
    return std::vector<float>(1);
  };
  VariantMatVec broken(*q4, short_result, *l.reference, 1);
  auto parity = MeasureModelParity(l.model->config, l.model->weights, kTokens, *l.reference, broken);
  BOOST_REQUIRE(!parity.ok());
  BOOST_TEST(parity.error().message.find("candidate pass") != std::string::npos, parity.error().message);
  BOOST_TEST(parity.error().message.find("did not return") != std::string::npos, parity.error().message);

  const std::vector<int32_t> prompt = {1, 2, 3};
  auto sequence = ReferenceSequence(l.model->config, l.model->weights, *l.reference, prompt, 8);
  BOOST_REQUIRE_MESSAGE(sequence.ok(), Why(sequence));
  BOOST_TEST(sequence->size() == 8u);
  BOOST_TEST((*sequence)[2] == 3);
  BOOST_TEST(!ReferenceSequence(l.model->config, l.model->weights, *l.reference, prompt, 2).ok());
  BOOST_TEST(!MeasureModelParity(l.model->config, l.model->weights, {}, *l.reference, broken).ok());
}
