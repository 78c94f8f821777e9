// Tokenizer::Tables: everything a Tokenizer reads, built once by FromGguf
// (tokenizer_gguf.cpp) and shared, immutable, by every copy of the
// Tokenizer (tokenizer.cpp). Internal to kpolicy_model.
#ifndef KPOLICY_MODEL_TOKENIZER_TABLES_H_
#define KPOLICY_MODEL_TOKENIZER_TABLES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "byte_level.h"
#include "kpolicy/model/tokenizer.h"
#include "special_tokens.h"

namespace kpolicy::model {

// tokenizer.ggml.token_type values (llama.cpp's enum llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

enum class TokenizerModel {
  kByteLevelBpe,      // tokenizer.ggml.model "gpt2"
  kSentencePieceBpe,  // tokenizer.ggml.model "llama"
};

struct MergeRule {
  int32_t rank;    // index in tokenizer.ggml.merges: lower merges first
  int32_t result;  // the token the two pieces make
};

struct Tokenizer::Tables {
  TokenizerModel model = TokenizerModel::kByteLevelBpe;
  PreTokenizer pre = PreTokenizer::kGpt2;  // byte-level BPE only

  std::vector<std::string> pieces;  // tokenizer.ggml.tokens, by id
  std::vector<float> scores;        // tokenizer.ggml.scores (SentencePiece only)
  std::vector<TokenType> types;     // tokenizer.ggml.token_type, kNormal where absent
  // Piece text to id; the views point into `pieces`, which never changes
  // after the map is built (the Tables live behind one shared_ptr).
  std::unordered_map<std::string_view, int32_t> ids;

  // Byte-level BPE: the token of each byte's one-character piece;
  // SentencePiece: the <0xNN> token. -1 where the vocabulary has none.
  std::array<int32_t, 256> byte_tokens{};
  // Byte-level BPE: (left id << 32 | right id) -> the merge.
  std::unordered_map<uint64_t, MergeRule> merges;

  SpecialTokenMatcher specials;
  bool add_space_prefix = false;
  bool add_bos = false;
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t unk = -1;
  std::vector<int32_t> end_of_generation;  // sorted, unique
};

inline uint64_t MergeKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_TOKENIZER_TABLES_H_
