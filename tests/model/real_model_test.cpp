// The CPU fp64 decoder on the two real models of tools/fetch_models.sh,
// read from $KPOLICY_MODEL_DIR: greedy continuations of fixed prompts are
// English ("The capital of France is" -> " Paris"), and a teacher-forced
// run's top-5 next-token ids per position match the checked-in goldens of
// data/ (README.md there says how they were written). Fails, saying what
// to run, when the models are missing.
#define BOOST_TEST_MODULE model_real
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kpolicy/model/decoder.h"
#include "model_files.h"
#include "kpolicy/model/tokenizer.h"

using namespace kpolicy;
using namespace kpolicy::model;

namespace {

template <typename E>
std::string Why(const E& result) {
  return result.ok() ? std::string() : result.error().ToString();
}

constexpr const char* kSmolLM = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kGemma = "gemma-3-270m-q4_k_m.gguf";


// Everything one model's checks need, loaded once per test case.
struct Loaded {
  explicit Loaded(const std::string& name) : path(ModelPath(name)) {
    auto file = kernels::GgufFile::Open(path);
    BOOST_REQUIRE_MESSAGE(file.ok(), Why(file));
    auto t = Tokenizer::FromGguf(*file);
    BOOST_REQUIRE_MESSAGE(t.ok(), Why(t));
    tokenizer.emplace(std::move(*t));
    auto c = ReadModelConfig(*file);
    BOOST_REQUIRE_MESSAGE(c.ok(), Why(c));
    config = *c;
    auto w = LoadModelWeights(*file, config);
    BOOST_REQUIRE_MESSAGE(w.ok(), Why(w));
    weights.emplace(std::move(*w));
    const auto start = std::chrono::steady_clock::now();
    auto m = ReferenceMatVec::Create(*weights);
    BOOST_REQUIRE_MESSAGE(m.ok(), Why(m));
    matvec.emplace(std::move(*m));
    decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::string path;
  std::optional<Tokenizer> tokenizer;
  ModelConfig config;
  std::optional<ModelWeights> weights;
  std::optional<ReferenceMatVec> matvec;
  double decode_seconds = 0;
};

// Greedy continuation of `prompt` (tokenised as the model's tokenizer
// does, BOS first where the model adds one), decoded to text.
std::string Continue(Loaded& m, const std::string& prompt, int64_t n, double* seconds) {
  const std::vector<int32_t> ids = m.tokenizer->Encode(prompt, m.tokenizer->adds_bos());
  Decoder decoder(m.config, *m.weights, *m.matvec);
  const auto start = std::chrono::steady_clock::now();
  auto generated = GreedyDecode(decoder, ids, n);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_REQUIRE_MESSAGE(generated.ok(), Why(generated));
  return m.tokenizer->Decode(*generated);
}

// Mostly letters and spaces: what English text is, and what a broken
// forward pass (random ids: CJK, code pieces, byte tokens) is not.
double LetterShare(const std::string& text) {
  int letters = 0;
  for (char ch : text) letters += std::isalpha(static_cast<unsigned char>(ch)) || ch == ' ' ? 1 : 0;
  return text.empty() ? 0.0 : double(letters) / double(text.size());
}

void CheckContinuations(const char* name, const std::string& paris_prompt) {
  Loaded m(name);
  BOOST_TEST_MESSAGE(name << ": decoded the weights in " << m.decode_seconds << " s");
  double seconds = 0;
  const std::string paris = Continue(m, paris_prompt, 8, &seconds);
  BOOST_TEST_MESSAGE(name << ": \"" << paris_prompt << paris << "\"");
  BOOST_TEST(paris.find(" Paris") != std::string::npos, "continuation: " << paris);
  // 8 prompt tokens (9 with Gemma's BOS) + 24 generated: 32 positions.
  const std::string story = Continue(m, "Once upon a time there was a little", 24, &seconds);
  BOOST_TEST_MESSAGE(name << ": \"Once upon a time there was a little" << story << "\" (32 positions in "
                          << seconds << " s)");
  BOOST_TEST(LetterShare(story) > 0.8, "continuation: " << story);
  // The requirement of issue 11: 32 positions of either model in under a
  // minute on two cores.
  BOOST_TEST(seconds < 60.0);
}

// ---- Goldens ---------------------------------------------------------------

struct Golden {
  std::vector<int32_t> tokens;
  std::vector<std::vector<std::pair<int32_t, double>>> top;  // per position, best first
};

Golden ReadGolden(const std::string& file) {
  const std::string path = std::string(KPOLICY_SOURCE_DIR) + "/tests/model/data/" + file;
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " + path);
  Golden g;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    if (kind == "tokens") {
      for (int32_t id; fields >> id;) g.tokens.push_back(id);
    } else if (kind == "position") {
      size_t p;
      fields >> p;
      BOOST_REQUIRE_EQUAL(p, g.top.size());
      g.top.emplace_back();
      int32_t id;
      double logit;
      while (fields >> id >> logit) g.top.back().emplace_back(id, logit);
    }
  }
  BOOST_REQUIRE(!g.tokens.empty());
  BOOST_REQUIRE_EQUAL(g.top.size(), g.tokens.size());
  return g;
}

// The goldens hold logits to 6 decimals (rounding <= 5e-7). Another
// compiler or libm computes the same fp64 forward with other roundings
// (exp/tanh/sin/cos within an ulp or two, FMA contraction): relative
// differences near 1e-16 per operation, so even after an amplification of
// 1e9 through the layers (far above what RMSNorm-bounded activations of
// |x| < 1e3 allow) a logit of |l| < 50 moves by < 5e-6. kLogitTolerance =
// 1e-4 covers rounding plus that bound with a factor of ~20, and is still
// two orders below what any change to the forward pass gives (1e-2 and
// more). Two ids may swap only where the golden's logits are within
// 2 * kLogitTolerance (a near-tie).
constexpr double kLogitTolerance = 1e-4;

void CheckGolden(const char* name, const char* golden_file) {
  const Golden g = ReadGolden(golden_file);
  Loaded m(name);
  Decoder decoder(m.config, *m.weights, *m.matvec);
  auto logits = TeacherForced(decoder, g.tokens);
  BOOST_REQUIRE(logits.ok());
  for (size_t p = 0; p < g.top.size(); ++p) {
    const std::vector<double>& l = (*logits)[p];
    const std::vector<int32_t> got = TopK(l, int(g.top[p].size()));
    for (size_t r = 0; r < g.top[p].size(); ++r) {
      const auto [want_id, want_logit] = g.top[p][r];
      BOOST_TEST(std::abs(l[size_t(want_id)] - want_logit) <= kLogitTolerance,
                 name << " position " << p << " rank " << r << ": id " << want_id << " logit "
                      << l[size_t(want_id)] << ", golden " << want_logit);
      if (got[r] != want_id) {
        const double gap = std::abs(l[size_t(got[r])] - want_logit);
        BOOST_TEST(gap <= 2 * kLogitTolerance, name << " position " << p << " rank " << r << ": id " << got[r]
                                                    << ", golden " << want_id << " (not a near-tie)");
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(smollm2_continues_prompts_in_english) {
  CheckContinuations(kSmolLM, "The capital of France is");
}
BOOST_AUTO_TEST_CASE(gemma3_continues_prompts_in_english) {
  // Gemma 3 270M continues "The capital of France is" with "the capital of
  // the country of France. It is the largest city in France ..." (greedy);
  // naming the city needs the question asked that way.
  CheckContinuations(kGemma, "The capital of France is the city of");
}
BOOST_AUTO_TEST_CASE(smollm2_top5_matches_golden) { CheckGolden(kSmolLM, "smollm2_top5.txt"); }
BOOST_AUTO_TEST_CASE(gemma3_top5_matches_golden) { CheckGolden(kGemma, "gemma3_top5.txt"); }
