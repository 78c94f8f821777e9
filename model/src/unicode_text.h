// Code points for the tokenizer: lenient UTF-8 decoding (text from users may
// be malformed; every byte must still encode), UTF-8 encoding, and the three
// character classes the byte-level BPE pre-tokenizer's regex uses: \p{L},
// \p{N} and \s. Internal to kpolicy_model. Pure functions.
#ifndef KPOLICY_MODEL_UNICODE_TEXT_H_
#define KPOLICY_MODEL_UNICODE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kpolicy::model {

struct CodePointRange {
  uint32_t first;
  uint32_t last;  // inclusive
};

// Stands for a byte that starts no valid UTF-8 sequence: U+FFFD, a symbol
// (neither letter, number nor space), as the regex engines that decode with
// replacement see it.
inline constexpr uint32_t kInvalidCodePoint = 0xFFFD;

struct DecodedCodePoint {
  uint32_t code_point;  // kInvalidCodePoint for a malformed sequence
  size_t length;        // bytes consumed, >= 1
};

// The code point starting at text[pos] (pos < text.size()). A malformed,
// overlong, surrogate or truncated sequence consumes one byte.
DecodedCodePoint DecodeUtf8(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of `code_point` (<= 0x10FFFF).
void AppendUtf8(uint32_t code_point, std::string& out);

// General category L* (Lu, Ll, Lt, Lm, Lo).
bool IsLetter(uint32_t code_point);
// General category N* (Nd, Nl, No).
bool IsNumber(uint32_t code_point);
// The White_Space property (what \s matches in Oniguruma, Rust's regex and
// llama.cpp's unicode tables).
bool IsWhitespace(uint32_t code_point);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_UNICODE_TEXT_H_
