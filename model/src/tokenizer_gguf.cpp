// Tokenizer::FromGguf: reads and checks the tokenizer.ggml.* metadata.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "kpolicy/model/tokenizer.h"
#include "tokenizer_tables.h"
#include "unicode_text.h"

namespace kpolicy::model {
namespace {

using kernels::GgufFile;
using kernels::GgufValue;
using kernels::GgufValueType;

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kPreKey = "tokenizer.ggml.pre";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";
constexpr std::string_view kAddBosKey = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddSpacePrefixKey = "tokenizer.ggml.add_space_prefix";
constexpr std::string_view kBosKey = "tokenizer.ggml.bos_token_id";
constexpr std::string_view kEosKey = "tokenizer.ggml.eos_token_id";
constexpr std::string_view kUnkKey = "tokenizer.ggml.unknown_token_id";
constexpr std::string_view kEotKey = "tokenizer.ggml.eot_token_id";
constexpr std::string_view kEomKey = "tokenizer.ggml.eom_token_id";

// The token texts that end a turn in the chat formats llama.cpp recognises
// by text (llama-vocab.cpp's end-of-generation list, the entries that are
// not specific to one exotic model).
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|endoftext|>", "<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|eom_id|>",
    "<|end_of_text|>", "<|end|>", "<EOT>",
};

// The pre-tokenizer names (tokenizer.ggml.pre) whose split is one this
// library implements, after llama.cpp's mapping of names to regexes.
std::optional<PreTokenizer> PreTokenizerNamed(std::string_view name) {
  if (name == "gpt-2") return PreTokenizer::kGpt2;
  for (std::string_view digits_first : {"smollm", "starcoder", "refact", "codeshell", "exaone", "minerva-7b"}) {
    if (name == digits_first) return PreTokenizer::kDigitsThenGpt2;
  }
  return std::nullopt;
}

// Reads one GGUF file's metadata; every error names the file and the key.
class MetadataReader {
 public:
  explicit MetadataReader(const GgufFile& file) : file_(file) {}

  Unexpected<Error> Malformed(std::string_view key, const std::string& what) const {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file_.name()}, std::string(key) + ": " + what);
  }
  Unexpected<Error> Unsupported(std::string_view key, const std::string& what) const {
    return Fail(ErrorCode::kUnsupported, SourceLocation{file_.name()}, std::string(key) + ": " + what);
  }
  Unexpected<Error> Missing(std::string_view key, const std::string& why) const {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file_.name()},
                std::string(key) + " is missing (" + why + ")");
  }

  const GgufValue* Find(std::string_view key) const { return file_.FindMetadata(key); }

  Expected<std::optional<std::string>> OptionalString(std::string_view key) const {
    const GgufValue* value = Find(key);
    if (value == nullptr) return std::optional<std::string>();
    const std::string* text = value->AsString();
    if (text == nullptr) return Malformed(key, "expected a string");
    return std::optional<std::string>(*text);
  }

  Expected<bool> OptionalBool(std::string_view key, bool fallback) const {
    const GgufValue* value = Find(key);
    if (value == nullptr) return fallback;
    const bool* flag = std::get_if<bool>(&value->data);
    if (flag == nullptr) return Malformed(key, "expected a bool");
    return *flag;
  }

  // -1 when absent; an error when not an integer in [0, vocab_size).
  Expected<int32_t> OptionalTokenId(std::string_view key, size_t vocab_size) const {
    const GgufValue* value = Find(key);
    if (value == nullptr) return -1;
    const std::optional<int64_t> id = value->AsInt();
    if (!id) return Malformed(key, "expected an integer token id");
    if (*id < 0 || static_cast<uint64_t>(*id) >= vocab_size) {
      return Malformed(key, "token id " + std::to_string(*id) + " is outside the vocabulary of " +
                                std::to_string(vocab_size) + " tokens");
    }
    return static_cast<int32_t>(*id);
  }

  // The array at `key`; nullptr when absent. An error when the value is not
  // an array of `element` (or of `alternative`), or, for expected_length >
  // 0, holds a different number of items.
  Expected<const GgufValue::Array*> OptionalArray(std::string_view key, GgufValueType element,
                                                  std::optional<GgufValueType> alternative,
                                                  size_t expected_length) const {
    const GgufValue* value = Find(key);
    if (value == nullptr) return static_cast<const GgufValue::Array*>(nullptr);
    const GgufValue::Array* array = value->AsArray();
    const bool element_ok = array != nullptr && (array->element_type == element ||
                                                 (alternative && array->element_type == *alternative));
    if (!element_ok) {
      return Malformed(key, std::string("expected an array of ") + TypeName(element) +
                                (alternative ? std::string(" or ") + TypeName(*alternative) : ""));
    }
    if (expected_length > 0 && array->items.size() != expected_length) {
      return Malformed(key, "has " + std::to_string(array->items.size()) + " entries for " +
                                std::to_string(expected_length) + " tokens");
    }
    return array;
  }

 private:
  static const char* TypeName(GgufValueType type) {
    switch (type) {
      case GgufValueType::kString: return "strings";
      case GgufValueType::kFloat32: return "float32";
      case GgufValueType::kInt32: return "int32";
      default: return "values of another type";
    }
  }
  const GgufFile& file_;
};

std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02X", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "'";
}

Status ReadPieces(const MetadataReader& reader, Tokenizer::Tables& t) {
  Expected<const GgufValue::Array*> array = reader.OptionalArray(kTokensKey, GgufValueType::kString, std::nullopt, 0);
  KPOLICY_TRY(array);
  const GgufValue::Array* tokens = *array;
  if (tokens == nullptr) return reader.Missing(kTokensKey, "the vocabulary");
  if (tokens->items.empty()) return reader.Malformed(kTokensKey, "the vocabulary is empty");
  if (tokens->items.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return reader.Malformed(kTokensKey, "more tokens than int32 ids can number");
  }
  t.pieces.reserve(tokens->items.size());
  for (const GgufValue& item : tokens->items) t.pieces.push_back(*item.AsString());
  t.ids.reserve(t.pieces.size());
  for (size_t id = 0; id < t.pieces.size(); ++id) {
    // An empty piece can never be produced nor matched; llama.cpp renames
    // such tokens, here they stay unreachable by text.
    if (t.pieces[id].empty()) continue;
    const auto [it, inserted] = t.ids.emplace(t.pieces[id], static_cast<int32_t>(id));
    if (!inserted) {
      return reader.Malformed(kTokensKey, "entry " + std::to_string(id) + " repeats entry " +
                                              std::to_string(it->second) + " " + Quoted(t.pieces[id]));
    }
  }
  return {};
}

Status ReadTypesAndScores(const MetadataReader& reader, bool scores_required, Tokenizer::Tables& t) {
  const size_t n = t.pieces.size();
  Expected<const GgufValue::Array*> types = reader.OptionalArray(kTypesKey, GgufValueType::kInt32, std::nullopt, n);
  KPOLICY_TRY(types);
  t.types.assign(n, TokenType::kNormal);
  if (*types != nullptr) {
    for (size_t id = 0; id < n; ++id) {
      const int64_t type = *(*types)->items[id].AsInt();
      if (type < 0 || type > static_cast<int64_t>(TokenType::kByte)) {
        return reader.Malformed(kTypesKey, "entry " + std::to_string(id) + " is " + std::to_string(type) +
                                               ", not a token type (0..6)");
      }
      t.types[id] = static_cast<TokenType>(type);
    }
  }
  Expected<const GgufValue::Array*> scores =
      reader.OptionalArray(kScoresKey, GgufValueType::kFloat32, GgufValueType::kInt32, n);
  KPOLICY_TRY(scores);
  if (*scores == nullptr) {
    if (scores_required) return reader.Missing(kScoresKey, "the llama tokenizer merges by score");
    return {};
  }
  t.scores.reserve(n);
  for (const GgufValue& item : (*scores)->items) {
    const std::optional<double> f = item.AsFloat();
    t.scores.push_back(static_cast<float>(f ? *f : static_cast<double>(*item.AsInt())));
  }
  return {};
}

Status ReadSpecialIds(const MetadataReader& reader, Tokenizer::Tables& t) {
  const size_t n = t.pieces.size();
  Expected<int32_t> bos = reader.OptionalTokenId(kBosKey, n);
  Expected<int32_t> eos = reader.OptionalTokenId(kEosKey, n);
  Expected<int32_t> unk = reader.OptionalTokenId(kUnkKey, n);
  Expected<int32_t> eot = reader.OptionalTokenId(kEotKey, n);
  Expected<int32_t> eom = reader.OptionalTokenId(kEomKey, n);
  for (const Expected<int32_t>* id : {&bos, &eos, &unk, &eot, &eom}) KPOLICY_TRY(*id);
  t.bos = *bos, t.eos = *eos, t.unk = *unk;

  for (int32_t id : {*eos, *eot, *eom}) {
    if (id >= 0) t.end_of_generation.push_back(id);
  }
  for (std::string_view text : kEndOfTurnTexts) {
    if (auto it = t.ids.find(text); it != t.ids.end()) t.end_of_generation.push_back(it->second);
  }
  std::sort(t.end_of_generation.begin(), t.end_of_generation.end());
  t.end_of_generation.erase(std::unique(t.end_of_generation.begin(), t.end_of_generation.end()),
                            t.end_of_generation.end());

  const bool model_default = t.model == TokenizerModel::kSentencePieceBpe;  // llama.cpp's defaults
  Expected<bool> add_bos = reader.OptionalBool(kAddBosKey, model_default);
  KPOLICY_TRY(add_bos);
  Expected<bool> add_space_prefix = reader.OptionalBool(kAddSpacePrefixKey, model_default);
  KPOLICY_TRY(add_space_prefix);
  t.add_bos = *add_bos;
  t.add_space_prefix = *add_space_prefix;
  return {};
}

void CollectSpecialTokens(Tokenizer::Tables& t) {
  for (size_t id = 0; id < t.pieces.size(); ++id) {
    const TokenType type = t.types[id];
    const bool special =
        type == TokenType::kControl || type == TokenType::kUserDefined || type == TokenType::kUnknown;
    if (special && !t.pieces[id].empty()) t.specials.Add(t.pieces[id], static_cast<int32_t>(id));
  }
}

Status ReadByteLevelTables(const MetadataReader& reader, Tokenizer::Tables& t) {
  Expected<std::optional<std::string>> pre = reader.OptionalString(kPreKey);
  KPOLICY_TRY(pre);
  if (!*pre) return reader.Missing(kPreKey, "the gpt2 tokenizer needs to know how text is split before BPE");
  const std::optional<PreTokenizer> split = PreTokenizerNamed(**pre);
  if (!split) {
    return reader.Unsupported(kPreKey, "pre-tokenizer '" + **pre +
                                           "' is not supported (supported: gpt-2, and smollm and the "
                                           "other digit-first splits)");
  }
  t.pre = *split;

  // A byte without a piece stays -1 and is dropped from the encoding, as
  // llama.cpp and HF tokenizers drop it: SmolLM2-135M lacks 21 of the 256
  // (0xC0, 0xC1, 0xF5..0xFF, which valid UTF-8 never holds, and a few
  // control bytes).
  for (int byte = 0; byte < 256; ++byte) {
    std::string piece;
    AppendUtf8(ByteToCodePoint(static_cast<uint8_t>(byte)), piece);
    const auto it = t.ids.find(piece);
    t.byte_tokens[byte] = it == t.ids.end() ? -1 : it->second;
  }

  Expected<const GgufValue::Array*> merges = reader.OptionalArray(kMergesKey, GgufValueType::kString, std::nullopt, 0);
  KPOLICY_TRY(merges);
  if (*merges == nullptr) return reader.Missing(kMergesKey, "the gpt2 tokenizer's BPE merge rules");
  t.merges.reserve((*merges)->items.size());
  for (size_t rank = 0; rank < (*merges)->items.size(); ++rank) {
    const std::string& rule = *(*merges)->items[rank].AsString();
    // "LEFT RIGHT"; search from 1 so that a left piece may itself be a
    // space (as llama.cpp reads them).
    const size_t space = rule.find(' ', 1);
    auto bad = [&](const std::string& why) {
      return reader.Malformed(kMergesKey, "entry " + std::to_string(rank) + " " + Quoted(rule) + " " + why);
    };
    if (space == std::string::npos) return bad("is not two pieces separated by a space");
    const std::string_view left(rule.data(), space);
    const std::string_view right(rule.data() + space + 1, rule.size() - space - 1);
    const std::string joined = std::string(left) + std::string(right);
    const auto l = t.ids.find(left), r = t.ids.find(right), j = t.ids.find(joined);
    if (l == t.ids.end() || r == t.ids.end() || j == t.ids.end()) {
      return bad("names a piece that is not in " + std::string(kTokensKey));
    }
    // The first rule for a pair wins: it has the lower rank.
    t.merges.emplace(MergeKey(l->second, r->second), MergeRule{static_cast<int32_t>(rank), j->second});
  }
  return {};
}

Status ReadSentencePieceTables(const MetadataReader& reader, Tokenizer::Tables& t) {
  for (int byte = 0; byte < 256; ++byte) {
    char piece[8];
    std::snprintf(piece, sizeof piece, "<0x%02X>", byte);
    const auto it = t.ids.find(piece);
    t.byte_tokens[byte] = it == t.ids.end() ? -1 : it->second;
    if (t.byte_tokens[byte] < 0 && t.unk < 0) {
      return reader.Malformed(kTokensKey, std::string("has no byte token ") + piece + " and " +
                                              std::string(kUnkKey) +
                                              " is not set, so some text could not be encoded");
    }
  }
  return {};
}

}  // namespace

Expected<Tokenizer> Tokenizer::FromGguf(const kernels::GgufFile& file) {
  const MetadataReader reader(file);
  auto tables = std::make_shared<Tables>();
  Tables& t = *tables;

  Expected<std::optional<std::string>> model = reader.OptionalString(kModelKey);
  KPOLICY_TRY(model);
  if (!*model) return reader.Missing(kModelKey, "which tokenizer the vocabulary is for");
  if (**model == "gpt2") {
    t.model = TokenizerModel::kByteLevelBpe;
  } else if (**model == "llama") {
    t.model = TokenizerModel::kSentencePieceBpe;
  } else {
    return reader.Unsupported(kModelKey, "tokenizer model '" + **model + "' is not supported (supported: gpt2, llama)");
  }

  KPOLICY_TRY(ReadPieces(reader, t));
  KPOLICY_TRY(ReadTypesAndScores(reader, t.model == TokenizerModel::kSentencePieceBpe, t));
  KPOLICY_TRY(ReadSpecialIds(reader, t));
  CollectSpecialTokens(t);
  if (t.model == TokenizerModel::kByteLevelBpe) {
    KPOLICY_TRY(ReadByteLevelTables(reader, t));
  } else {
    KPOLICY_TRY(ReadSentencePieceTables(reader, t));
  }
  return Tokenizer(std::move(tables));
}

}  // namespace kpolicy::model
