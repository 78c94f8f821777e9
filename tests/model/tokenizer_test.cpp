// Tokenizer on small vocabularies written with GgufWriter: the GPT-2
// pre-tokenizer split against its regex, byte-level BPE merging by rank,
// SentencePiece BPE merging by score with byte fallback, special tokens,
// round trips on ASCII, multi-byte UTF-8, whitespace runs, digits and
// punctuation, and errors that name the key at fault.
#define BOOST_TEST_MODULE model_tokenizer
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "byte_level.h"
#include "kpolicy/kernels/gguf.h"
#include "kpolicy/model/tokenizer.h"
#include "unicode_text.h"

using kpolicy::ErrorCode;
using kpolicy::model::PreTokenize;
using kpolicy::model::PreTokenizer;
using kpolicy::model::Tokenizer;
using kpolicy::kernels::GgufFile;
using kpolicy::kernels::GgufValue;
using kpolicy::kernels::GgufValueType;
using kpolicy::kernels::GgufWriter;

namespace {

constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kByte = 6;

// The text of a byte in GPT-2's byte-level alphabet.
std::string ByteLevel(std::string_view raw) {
  std::string out;
  for (char c : raw) kpolicy::model::AppendUtf8(kpolicy::model::ByteToCodePoint(static_cast<uint8_t>(c)), out);
  return out;
}

// A vocabulary under construction, and the GGUF file it becomes.
class Vocab {
 public:
  int32_t Add(std::string piece, int32_t type = kNormal, float score = 0) {
    pieces_.push_back(std::move(piece));
    types_.push_back(type);
    scores_.push_back(score);
    return static_cast<int32_t>(pieces_.size() - 1);
  }
  int32_t Id(const std::string& piece) const {
    const int32_t id = Find(piece);
    BOOST_REQUIRE_MESSAGE(id >= 0, "no piece " << piece);
    return id;
  }
  void Merge(const std::string& left, const std::string& right) {
    merges_.push_back(left + " " + right);
    if (Find(left + right) < 0) Add(left + right);
  }
  int32_t Find(const std::string& piece) const {
    for (size_t i = 0; i < pieces_.size(); ++i) {
      if (pieces_[i] == piece) return static_cast<int32_t>(i);
    }
    return -1;
  }

  // What goes into the file; tests remove or break one key at a time.
  std::vector<kpolicy::kernels::GgufMetadataEntry> Metadata(const std::string& model) const {
    std::vector<kpolicy::kernels::GgufMetadataEntry> out;
    out.push_back({"tokenizer.ggml.model", GgufValue::String(model)});
    std::vector<GgufValue> pieces, types, scores, merges;
    for (const std::string& p : pieces_) pieces.push_back(GgufValue::String(p));
    for (int32_t t : types_) types.push_back(GgufValue::I32(t));
    for (float s : scores_) scores.push_back(GgufValue::F32(s));
    for (const std::string& m : merges_) merges.push_back(GgufValue::String(m));
    out.push_back({"tokenizer.ggml.tokens", GgufValue::MakeArray(GgufValueType::kString, pieces)});
    out.push_back({"tokenizer.ggml.token_type", GgufValue::MakeArray(GgufValueType::kInt32, types)});
    if (model == "llama") {
      out.push_back({"tokenizer.ggml.scores", GgufValue::MakeArray(GgufValueType::kFloat32, scores)});
    } else {
      out.push_back({"tokenizer.ggml.merges", GgufValue::MakeArray(GgufValueType::kString, merges)});
    }
    return out;
  }

 private:
  std::vector<std::string> pieces_;
  std::vector<int32_t> types_;
  std::vector<float> scores_;
  std::vector<std::string> merges_;
};

GgufFile ToFile(const std::vector<kpolicy::kernels::GgufMetadataEntry>& metadata) {
  GgufWriter writer;
  for (const auto& e : metadata) writer.AddMetadata(e.key, e.value);
  auto bytes = writer.Serialize();
  BOOST_REQUIRE(bytes.ok());
  auto file = GgufFile::Parse(std::move(*bytes), "vocab.gguf");
  BOOST_REQUIRE(file.ok());
  return std::move(*file);
}

Tokenizer MustLoad(const std::vector<kpolicy::kernels::GgufMetadataEntry>& metadata) {
  const GgufFile file = ToFile(metadata);
  auto tokenizer = Tokenizer::FromGguf(file);
  BOOST_REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? std::string() : tokenizer.error().ToString()));
  return std::move(*tokenizer);
}

void Set(std::vector<kpolicy::kernels::GgufMetadataEntry>& metadata, const std::string& key, GgufValue value) {
  for (auto& e : metadata) {
    if (e.key == key) {
      e.value = std::move(value);
      return;
    }
  }
  metadata.push_back({key, std::move(value)});
}

void Remove(std::vector<kpolicy::kernels::GgufMetadataEntry>& metadata, const std::string& key) {
  std::erase_if(metadata, [&](const auto& e) { return e.key == key; });
}

// ---- A byte-level BPE vocabulary --------------------------------------------

// Specials, the 256 byte pieces, and merges that build "hello", " world",
// "12" and a run of two spaces.
struct Gpt2Vocab {
  Vocab vocab;
  Gpt2Vocab() {
    vocab.Add("<|endoftext|>", kControl);
    vocab.Add("<|im_start|>", kControl);
    vocab.Add("<|im_end|>", kControl);
    for (int b = 0; b < 256; ++b) vocab.Add(ByteLevel(std::string(1, static_cast<char>(b))));
    vocab.Merge("h", "e");
    vocab.Merge("l", "l");
    vocab.Merge("he", "ll");
    vocab.Merge("hell", "o");
    vocab.Merge("Ġ", "w");
    vocab.Merge("o", "r");
    vocab.Merge("Ġw", "or");
    vocab.Merge("l", "d");
    vocab.Merge("Ġwor", "ld");
    vocab.Merge("1", "2");
    vocab.Merge("Ġ", "Ġ");
  }
  std::vector<kpolicy::kernels::GgufMetadataEntry> Metadata(const std::string& pre = "smollm") const {
    auto m = vocab.Metadata("gpt2");
    m.push_back({"tokenizer.ggml.pre", GgufValue::String(pre)});
    m.push_back({"tokenizer.ggml.bos_token_id", GgufValue::U32(1)});
    m.push_back({"tokenizer.ggml.eos_token_id", GgufValue::U32(2)});
    return m;
  }
};

std::vector<std::string> Split(std::string_view text, PreTokenizer pre) {
  std::vector<std::string> out;
  for (std::string_view piece : PreTokenize(text, pre)) out.emplace_back(piece);
  return out;
}

using Pieces = std::vector<std::string>;

}  // namespace

// ---- The GPT-2 split ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(gpt2_split_follows_each_alternative_of_the_regex) {
  // 's 't 're 've 'm 'll 'd, lowercase only.
  BOOST_TEST(Split("it's they're I'M", PreTokenizer::kGpt2) ==
             (Pieces{"it", "'s", " they", "'re", " I", "'", "M"}), boost::test_tools::per_element());
  // ' ?\p{L}+' ' ?\p{N}+' ' ?[^\s\p{L}\p{N}]+': one leading space joins a run
  // of one class; a class change starts a new piece.
  BOOST_TEST(Split("Hello, world!! abc123 ...", PreTokenizer::kGpt2) ==
             (Pieces{"Hello", ",", " world", "!!", " abc", "123", " ..."}), boost::test_tools::per_element());
  // '\s+(?!\S)': a run of spaces leaves its last one to the next word; at
  // the end of the text it takes the whole run; a lone newline before a
  // word is '\s+' on its own.
  BOOST_TEST(Split("a   b  ", PreTokenizer::kGpt2) == (Pieces{"a", "  ", " b", "  "}),
             boost::test_tools::per_element());
  BOOST_TEST(Split("x\n\ny\tz", PreTokenizer::kGpt2) == (Pieces{"x", "\n", "\n", "y", "\t", "z"}),
             boost::test_tools::per_element());
  // Letters and numbers beyond ASCII: é and 世 are \p{L}, ٣ (Arabic-Indic
  // three) and ½ are \p{N}; the emoji is neither.
  BOOST_TEST(Split("café 世界 ٣½ 🙂!", PreTokenizer::kGpt2) ==
             (Pieces{"café", " 世界", " ٣½", " 🙂!"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(digits_first_split_isolates_every_digit) {
  BOOST_TEST(Split("in 2024, x12", PreTokenizer::kDigitsThenGpt2) ==
             (Pieces{"in", " ", "2", "0", "2", "4", ",", " x", "1", "2"}), boost::test_tools::per_element());
  BOOST_TEST(Split("in 2024, x12", PreTokenizer::kGpt2) == (Pieces{"in", " 2024", ",", " x", "12"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(split_covers_any_bytes_exactly) {
  std::mt19937 rng(7);
  const std::string alphabet[] = {"a", "Z", " ", "  ", "\n", "\t", "7", ",", "'s", "é", "世", "🙂", "\xff", "\xc3"};
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += alphabet[rng() % std::size(alphabet)];
    for (PreTokenizer pre : {PreTokenizer::kGpt2, PreTokenizer::kDigitsThenGpt2}) {
      std::string joined;
      for (const std::string& piece : Split(text, pre)) {
        BOOST_TEST(!piece.empty());
        joined += piece;
      }
      BOOST_TEST(joined == text);
    }
  }
}

// ---- Byte-level BPE --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(byte_level_bpe_applies_the_merges) {
  const Gpt2Vocab g;
  const Tokenizer t = MustLoad(g.Metadata());
  const auto& v = g.vocab;
  BOOST_TEST(t.Encode("hello world", false) == (std::vector<int32_t>{v.Id("hello"), v.Id("Ġworld")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.Encode("hello", true) == (std::vector<int32_t>{1, v.Id("hello")}), boost::test_tools::per_element());
  // No merge for "x": it stays one byte piece; "wo" has no rule, "or" has.
  BOOST_TEST(t.Encode(" wox", false) == (std::vector<int32_t>{v.Id("Ġw"), v.Id("o"), v.Id("x")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.vocab_size() == 3 + 256 + 11);
  BOOST_TEST(t.bos() == 1);
  BOOST_TEST(t.eos() == 2);
  BOOST_TEST(!t.adds_bos());  // llama.cpp's default for gpt2 without the key
}

BOOST_AUTO_TEST_CASE(byte_level_bpe_merges_the_lowest_rank_first) {
  // "abc": rule 0 joins b c, rule 1 joins a b. Rank order gives a + bc; a
  // left-to-right greedy merge would give ab + c.
  Gpt2Vocab g;
  g.vocab.Merge("b", "c");
  g.vocab.Merge("a", "b");
  const Tokenizer t = MustLoad(g.Metadata());
  BOOST_TEST(t.Encode("abc", false) == (std::vector<int32_t>{g.vocab.Id("a"), g.vocab.Id("bc")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_level_bpe_digits_follow_the_pre_tokenizer) {
  const Gpt2Vocab g;
  const auto& v = g.vocab;
  // smollm isolates digits, so the "1 2" rule never fires; gpt-2 keeps
  // " 12" together, and the rules give "Ġ" + "12".
  BOOST_TEST(MustLoad(g.Metadata("smollm")).Encode("12", false) == (std::vector<int32_t>{v.Id("1"), v.Id("2")}),
             boost::test_tools::per_element());
  BOOST_TEST(MustLoad(g.Metadata("gpt-2")).Encode(" 12", false) == (std::vector<int32_t>{v.Id("Ġ"), v.Id("12")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_level_bpe_round_trips_any_text) {
  // Its length from the array, not a count: 25 read past the literal's 21
  // bytes (ASan in the hardening build).
  static const char kControlBytes[] = "bytes \x00\x01\x7f\xff\xfe invalid \xc3";
  const Gpt2Vocab g;
  const Tokenizer t = MustLoad(g.Metadata());
  const std::string texts[] = {
      "hello world",
      "Grüße, 世界! 🙂 naïve café",                    // 2-, 3- and 4-byte UTF-8
      "  leading\tand\n\n\ntrailing   ",                  // whitespace runs
      "3.14159 + 2,718 = 5.85; x_1*y_2 != z^3 (ok?) [yes] {no} <tag/> #@$%&",
      std::string(kControlBytes, sizeof kControlBytes - 1),  // NUL, controls, invalid UTF-8
      "",
  };
  for (const std::string& text : texts) {
    const std::vector<int32_t> ids = t.Encode(text, false);
    BOOST_TEST(t.Decode(ids) == text);
    std::string pieces;
    for (int32_t id : ids) pieces += t.TokenPiece(id);
    BOOST_TEST(pieces == text);
  }
  // Nothing merges in "é", so it is its two bytes' pieces.
  BOOST_TEST(t.Encode("é", false) == (std::vector<int32_t>{g.vocab.Id(ByteLevel("\xc3")), g.vocab.Id(ByteLevel("\xa9"))}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_level_bpe_drops_bytes_the_vocabulary_lacks) {
  // A vocabulary without the piece of byte 0xFF (as SmolLM2's lacks it):
  // the byte is dropped, the rest encodes as before.
  Vocab v;
  for (int b = 0; b < 255; ++b) v.Add(ByteLevel(std::string(1, static_cast<char>(b))));
  auto m = v.Metadata("gpt2");
  m.push_back({"tokenizer.ggml.pre", GgufValue::String("gpt-2")});
  const Tokenizer t = MustLoad(m);
  BOOST_TEST(t.Encode("a\xff" "b", false) == (std::vector<int32_t>{v.Id("a"), v.Id("b")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(special_token_texts_encode_as_one_token) {
  const Gpt2Vocab g;
  const auto& v = g.vocab;
  const Tokenizer t = MustLoad(g.Metadata());
  const std::string chat = "<|im_start|>hello\n<|im_end|><|endoftext|>";
  BOOST_TEST(t.Encode(chat, false) == (std::vector<int32_t>{1, v.Id("hello"), v.Id("Ċ"), 2, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(t.Decode(t.Encode(chat, false)) == chat);
  // A prefix of a special token's text is ordinary text.
  BOOST_TEST(t.Encode("<|im_", false).size() == 5u);
  BOOST_TEST(t.TokenPiece(2) == "<|im_end|>");
  BOOST_TEST(t.IsEndOfGeneration(2));  // eos
  BOOST_TEST(t.IsEndOfGeneration(0));  // <|endoftext|> by its text
  BOOST_TEST(!t.IsEndOfGeneration(1));
  BOOST_TEST(!t.IsEndOfGeneration(v.Id("hello")));
  BOOST_TEST(t.TokenPiece(-1).empty());
  BOOST_TEST(t.TokenPiece(static_cast<int32_t>(t.vocab_size())).empty());
}

// ---- SentencePiece BPE ---------------------------------------------------------

namespace {

// <unk>, <s>, </s>, the byte tokens, and pieces with scores chosen so the
// merge order is visible.
struct SpmVocab {
  Vocab vocab;
  explicit SpmVocab(bool byte_tokens = true) {
    vocab.Add("<unk>", kUnknown);
    vocab.Add("<s>", kControl);
    vocab.Add("</s>", kControl);
    vocab.Add("<end_of_turn>", kControl);
    vocab.Add("  ", kUserDefined);  // Gemma declares space runs this way
    vocab.Add("\n", kUserDefined);
    if (byte_tokens) {
      for (int b = 0; b < 256; ++b) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        vocab.Add(piece, kByte);
      }
    }
    for (const char* c : {"▁", "h", "e", "l", "o", "w", "r", "d", "a", "b", "é"}) vocab.Add(c, kNormal, -100);
    vocab.Add("he", kNormal, -1);
    vocab.Add("ll", kNormal, -2);
    vocab.Add("hell", kNormal, -3);
    vocab.Add("hello", kNormal, -4);
    vocab.Add("▁hello", kNormal, -5);
    vocab.Add("▁w", kNormal, -6);
    vocab.Add("or", kNormal, -7);
    vocab.Add("ld", kNormal, -8);
    vocab.Add("▁wor", kNormal, -9);
    vocab.Add("▁world", kNormal, -10);
  }
  std::vector<kpolicy::kernels::GgufMetadataEntry> Metadata(bool add_space_prefix = false) const {
    auto m = vocab.Metadata("llama");
    m.push_back({"tokenizer.ggml.bos_token_id", GgufValue::U32(1)});
    m.push_back({"tokenizer.ggml.eos_token_id", GgufValue::U32(2)});
    m.push_back({"tokenizer.ggml.unknown_token_id", GgufValue::U32(0)});
    m.push_back({"tokenizer.ggml.add_space_prefix", GgufValue::Bool(add_space_prefix)});
    return m;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(sentencepiece_merges_by_score_and_marks_spaces) {
  const SpmVocab s;
  const auto& v = s.vocab;
  const Tokenizer t = MustLoad(s.Metadata());
  BOOST_TEST(t.Encode("hello world", true) == (std::vector<int32_t>{1, v.Id("hello"), v.Id("▁world")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.Decode(t.Encode("hello world", false)) == "hello world");
  BOOST_TEST(t.TokenPiece(v.Id("▁world")) == " world");
  BOOST_TEST(t.adds_bos());  // llama.cpp's default for llama without the key
}

BOOST_AUTO_TEST_CASE(sentencepiece_highest_score_wins_over_order) {
  // With "el" scored above "he", h·e·l·l·o merges e+l first; nothing then
  // joins h+el or el+l, so the word stays in four pieces.
  SpmVocab s;
  s.vocab.Add("el", kNormal, -0.5f);
  const Tokenizer t = MustLoad(s.Metadata());
  const auto& v = s.vocab;
  BOOST_TEST(t.Encode("hello", false) == (std::vector<int32_t>{v.Id("h"), v.Id("el"), v.Id("l"), v.Id("o")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sentencepiece_dummy_prefix_where_the_file_asks) {
  const SpmVocab s;
  const auto& v = s.vocab;
  const Tokenizer with_prefix = MustLoad(s.Metadata(true));
  BOOST_TEST(with_prefix.Encode("hello", false) == (std::vector<int32_t>{v.Id("▁hello")}),
             boost::test_tools::per_element());
  // After a special token the prefix is added again (llama.cpp's rule).
  BOOST_TEST(with_prefix.Encode("hello</s>hello", false) ==
                 (std::vector<int32_t>{v.Id("▁hello"), 2, v.Id("▁hello")}),
             boost::test_tools::per_element());
  const Tokenizer without = MustLoad(s.Metadata(false));
  BOOST_TEST(without.Encode("hello", false) == (std::vector<int32_t>{v.Id("hello")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sentencepiece_byte_fallback_for_characters_outside_the_vocabulary) {
  const SpmVocab s;
  const auto& v = s.vocab;
  const Tokenizer t = MustLoad(s.Metadata());
  // "ü" (C3 BC) is no piece: its two bytes. "é" is a piece.
  BOOST_TEST(t.Encode("üé", false) == (std::vector<int32_t>{v.Id("<0xC3>"), v.Id("<0xBC>"), v.Id("é")}),
             boost::test_tools::per_element());
  const std::string texts[] = {"üé", "Grüße 世界 🙂", "a  b\n\nhello   world", "3.14, (x)!?", ""};
  for (const std::string& text : texts) BOOST_TEST(t.Decode(t.Encode(text, false)) == text);
  BOOST_TEST(t.TokenPiece(v.Id("<0xC3>")) == "\xc3");
  // Without byte tokens such a character is the unknown token.
  const SpmVocab no_bytes(false);
  const Tokenizer u = MustLoad(no_bytes.Metadata());
  BOOST_TEST(u.Encode("aü", false) == (std::vector<int32_t>{no_bytes.vocab.Id("a"), 0, 0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sentencepiece_user_defined_runs_stay_whole) {
  const SpmVocab s;
  const auto& v = s.vocab;
  const Tokenizer t = MustLoad(s.Metadata());
  // Five spaces: the two-space token twice (leftmost-longest), then one ▁.
  BOOST_TEST(t.Encode("a     b\n", false) ==
                 (std::vector<int32_t>{v.Id("a"), v.Id("  "), v.Id("  "), v.Id("▁"), v.Id("b"), v.Id("\n")}),
             boost::test_tools::per_element());
  BOOST_TEST(t.IsEndOfGeneration(v.Id("<end_of_turn>")));
  BOOST_TEST(t.IsEndOfGeneration(2));
  BOOST_TEST(!t.IsEndOfGeneration(1));
}

BOOST_AUTO_TEST_CASE(special_tokens_match_leftmost_longest) {
  SpmVocab s;
  const int32_t ab = s.vocab.Add("ab", kUserDefined);
  const int32_t abc = s.vocab.Add("abc", kUserDefined);
  const Tokenizer t = MustLoad(s.Metadata());
  BOOST_TEST(t.Encode("abcab", false) == (std::vector<int32_t>{abc, ab}), boost::test_tools::per_element());
}

// ---- Errors ---------------------------------------------------------------------

namespace {

void ExpectError(const std::vector<kpolicy::kernels::GgufMetadataEntry>& metadata, ErrorCode code,
                 const std::vector<std::string>& fragments) {
  const GgufFile file = ToFile(metadata);
  auto tokenizer = Tokenizer::FromGguf(file);
  BOOST_REQUIRE(!tokenizer.ok());
  BOOST_TEST(static_cast<int>(tokenizer.error().code) == static_cast<int>(code));
  const std::string message = tokenizer.error().ToString();
  BOOST_TEST_MESSAGE(message);
  BOOST_TEST(message.find("vocab.gguf") != std::string::npos, message);
  for (const std::string& f : fragments) BOOST_TEST(message.find(f) != std::string::npos, message << " lacks " << f);
}

}  // namespace

BOOST_AUTO_TEST_CASE(errors_name_the_key_at_fault) {
  const Gpt2Vocab g;
  {
    auto m = g.Metadata();
    Remove(m, "tokenizer.ggml.model");
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.model", "missing"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.model", GgufValue::String("bert"));
    ExpectError(m, ErrorCode::kUnsupported, {"tokenizer.ggml.model", "'bert'"});
  }
  {
    auto m = g.Metadata("qwen2");
    ExpectError(m, ErrorCode::kUnsupported, {"tokenizer.ggml.pre", "'qwen2'"});
  }
  {
    auto m = g.Metadata();
    Remove(m, "tokenizer.ggml.pre");
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.pre", "missing"});
  }
  {
    auto m = g.Metadata();
    Remove(m, "tokenizer.ggml.tokens");
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.tokens", "missing"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.tokens", GgufValue::U32(3));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.tokens", "array of strings"});
  }
  {
    auto m = g.Metadata();
    Remove(m, "tokenizer.ggml.merges");
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.merges", "missing"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.merges", GgufValue::MakeArray(GgufValueType::kString, {GgufValue::String("h e"),
                                                                                  GgufValue::String("he")}));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.merges", "entry 1", "'he'"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.merges", GgufValue::MakeArray(GgufValueType::kString, {GgufValue::String("q z")}));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.merges", "entry 0", "not in tokenizer.ggml.tokens"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.token_type", GgufValue::MakeArray(GgufValueType::kInt32, {GgufValue::I32(1)}));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.token_type", "1 entries for 270 tokens"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.eos_token_id", GgufValue::U32(100000));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.eos_token_id", "100000", "outside"});
  }
  {
    auto m = g.Metadata();
    Set(m, "tokenizer.ggml.add_bos_token", GgufValue::String("yes"));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.add_bos_token", "bool"});
  }
  {
    Gpt2Vocab dup;
    dup.vocab.Add("hello");
    ExpectError(dup.Metadata(), ErrorCode::kInvalidInput, {"tokenizer.ggml.tokens", "repeats", "'hello'"});
  }
  const SpmVocab s;
  {
    auto m = s.Metadata();
    Remove(m, "tokenizer.ggml.scores");
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.scores", "missing"});
  }
  {
    auto m = s.Metadata();
    Set(m, "tokenizer.ggml.scores", GgufValue::MakeArray(GgufValueType::kString, {GgufValue::String("x")}));
    ExpectError(m, ErrorCode::kInvalidInput, {"tokenizer.ggml.scores", "float32 or int32"});
  }
  {
    SpmVocab no_bytes(false);
    auto m = no_bytes.Metadata();
    Remove(m, "tokenizer.ggml.unknown_token_id");
    ExpectError(m, ErrorCode::kInvalidInput, {"<0x00>", "tokenizer.ggml.unknown_token_id"});
  }
}
