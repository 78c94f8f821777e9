// Tokenizer: text to token ids and back, built from a GGUF file's
// tokenizer.ggml.* metadata, for the two tokenizer models kpolicy's real
// models use (the keys and their meaning follow llama.cpp's llama-vocab.cpp,
// which writes and reads them):
//
//   "gpt2"  byte-level BPE (SmolLM2). Text is split by the pre-tokenizer that
//           tokenizer.ggml.pre names ("gpt-2"/"default": GPT-2's regex;
//           "smollm" and the other starcoder-family names: every digit on its
//           own first, then GPT-2's regex), each piece's bytes are mapped to
//           GPT-2's printable byte alphabet, and tokenizer.ggml.merges are
//           applied by rank (lowest first, leftmost on ties).
//   "llama" SentencePiece-style BPE (Gemma 3). Spaces become U+2581 "▁"; a
//           leading space is added where tokenizer.ggml.add_space_prefix is
//           true (llama.cpp's default for this model when the key is absent);
//           adjacent pieces are merged while their concatenation is a token,
//           highest tokenizer.ggml.scores first (leftmost on ties); a
//           character that is no token is emitted as its UTF-8 bytes through
//           the <0xNN> byte tokens, or the unknown token where those are
//           missing.
//
// Special tokens: before either algorithm runs, Encode cuts the text at
// every occurrence of a control, user-defined or unknown token's text
// (token_type 3, 4, 2), leftmost-longest first (SentencePiece's and the HF
// tokenizers' matching of user-defined / added tokens), and emits those
// tokens directly. So "<|im_start|>user" encodes the chat marker as one
// token, and Gemma's runs of spaces and newlines, which it declares as
// user-defined tokens, stay whole.
//
// Decode is the concatenation of TokenPiece: byte-level BPE tokens are
// mapped back to their bytes, "▁" back to spaces, <0xNN> to the byte, and
// special tokens give their text. Decode does not strip the space that
// add_space_prefix adds.
//
// Cost: FromGguf builds hash tables over the vocabulary and the merges
// (measured on the build machine, -O2: 0.19 s for SmolLM2's 49152 tokens and
// 48900 merges, 0.33 s for Gemma 3's 262144 tokens). Encode is O(n log n) in the text length;
// Decode and TokenPiece are linear.
// Thread-safety: immutable after FromGguf; copies share the tables; all
// const members are safe to call from several threads at once.
#ifndef KPOLICY_MODEL_TOKENIZER_H_
#define KPOLICY_MODEL_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gguf.h"

namespace kpolicy::model {

class Tokenizer {
 public:
  // Reads tokenizer.ggml.model, .pre, .tokens, .scores, .token_type,
  // .merges, .bos_token_id, .eos_token_id, .unknown_token_id,
  // .eot_token_id, .eom_token_id, .add_bos_token and .add_space_prefix.
  // Errors (kInvalidInput, kUnsupported for a tokenizer model or
  // pre-tokenizer this class does not implement) name the file and the key
  // that is missing or malformed, and the element index where one is at
  // fault.
  static Expected<Tokenizer> FromGguf(const kernels::GgufFile& file);

  // The token ids of `text` (any bytes; invalid UTF-8 is encoded byte by
  // byte), preceded by bos() when add_bos is true and the vocabulary has
  // one. A byte-level BPE vocabulary may lack the piece of a byte (SmolLM2
  // lacks 21, among them 0xC0, 0xC1 and 0xF5..0xFF, which valid UTF-8 never
  // holds): such bytes are dropped, as llama.cpp and HF tokenizers drop
  // them, so Decode(Encode(text)) == text holds for every text without them.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos) const;

  // The concatenated pieces of `ids` as text; ids outside the vocabulary
  // give nothing.
  std::string Decode(std::span<const int32_t> ids) const;

  // One token's text (bytes, possibly an incomplete UTF-8 sequence for a
  // byte token); empty for an id outside the vocabulary.
  std::string TokenPiece(int32_t id) const;

  // -1 where the file names none.
  int32_t bos() const;
  int32_t eos() const;
  int64_t vocab_size() const;
  // tokenizer.ggml.add_bos_token (llama.cpp's default where absent: true
  // for "llama", false for "gpt2"): whether prompts for this model should
  // start with bos().
  bool adds_bos() const;

  // True for eos(), the eot / eom ids the file names, and tokens whose text
  // marks the end of a turn in the chat formats llama.cpp knows
  // ("<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>", ...).
  bool IsEndOfGeneration(int32_t id) const;

  struct Tables;  // the vocabulary and lookup tables (tokenizer.cpp)

 private:
  explicit Tokenizer(std::shared_ptr<const Tables> tables) : tables_(std::move(tables)) {}
  std::shared_ptr<const Tables> tables_;
};

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_TOKENIZER_H_
