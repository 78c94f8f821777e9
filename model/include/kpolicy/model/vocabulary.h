// Vocabulary: a model's token pieces (tokenizer.ggml.tokens) with the two
// plain operations a test or tool needs without a tokenizer: looking up the
// piece of each whole word of a text ("The capital" -> "The", "Ġcapital" in
// a gpt2-style vocabulary, "▁capital" in a SentencePiece one) and rendering
// ids back to text by concatenating pieces with the space markers turned
// into spaces. It does no merging, so a word that is not one piece is an
// error rather than a guess; real tokenisation is tokenizer.h's job.
//
// Thread-safety: immutable after Read.
#ifndef KPOLICY_MODEL_VOCABULARY_H_
#define KPOLICY_MODEL_VOCABULARY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gguf.h"

namespace kpolicy::model {

class Vocabulary {
 public:
  // Errors: tokenizer.ggml.tokens missing or not an array of strings.
  static Expected<Vocabulary> Read(const kernels::GgufFile& file);

  int64_t size() const { return static_cast<int64_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  std::optional<int32_t> Find(std::string_view piece) const;

  // tokenizer.ggml.bos_token_id when tokenizer.ggml.add_bos_token is true.
  std::optional<int32_t> bos_to_add() const { return bos_to_add_; }
  std::optional<int32_t> eos() const { return eos_; }

  // The ids of `text`'s space-separated words, each one piece (the first
  // word without a space marker, the others with it), after the BOS token
  // when the model adds one. Errors name the first word that is not a piece.
  Expected<std::vector<int32_t>> WholeWords(std::string_view text) const;

  // Pieces concatenated, "Ġ" and "▁" as spaces, "Ċ" and "<0x0A>" as newlines.
  std::string Render(std::span<const int32_t> ids) const;

 private:
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int32_t> ids_;
  std::string space_marker_;  // "Ġ" (gpt2) or "▁" (SentencePiece)
  std::optional<int32_t> bos_to_add_;
  std::optional<int32_t> eos_;
};

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_VOCABULARY_H_
