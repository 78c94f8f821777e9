// The byte-level side of GPT-2-style BPE: the printable alphabet that stands
// for raw bytes in the vocabulary, and the pre-tokenizer that splits text
// into the pieces BPE merges within. Internal to kpolicy_model. Pure
// functions; no tables outside the stack.
#ifndef KPOLICY_MODEL_BYTE_LEVEL_H_
#define KPOLICY_MODEL_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kpolicy::model {

// GPT-2's bytes_to_unicode (openai/gpt-2 encoder.py): the bytes that are
// printable Latin-1 ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for
// themselves; the other 68 (0..32, 127..160, 173), in byte order, are
// U+0100, U+0101, ... So a space is U+0120 "Ġ" and a newline U+010A "Ċ".
uint32_t ByteToCodePoint(uint8_t byte);
// The inverse; nullopt for a code point outside the alphabet.
std::optional<uint8_t> CodePointToByte(uint32_t code_point);

enum class PreTokenizer {
  // GPT-2's split, as one regex:
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // Every \p{N} code point on its own first, then kGpt2 within the rest:
  // llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM / STARCODER, HF tokenizers'
  // Digits(individual_digits) followed by ByteLevel.
  kDigitsThenGpt2,
};

// Splits `text` into consecutive pieces that cover it exactly (views into
// text). Implemented by hand: a scan over code points that tries the regex's
// alternatives in order, with its greedy runs and its lookahead.
std::vector<std::string_view> PreTokenize(std::string_view text, PreTokenizer pre);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_BYTE_LEVEL_H_
