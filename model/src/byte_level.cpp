#include "byte_level.h"

#include <cstddef>

#include "unicode_text.h"

namespace kpolicy::model {
namespace {

bool StandsForItself(uint32_t byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

// The code points of a text, each with the byte offset where it starts;
// offsets has one more entry, text.size().
struct CodePoints {
  std::vector<uint32_t> values;
  std::vector<size_t> offsets;
};

CodePoints Decode(std::string_view text) {
  CodePoints cps;
  cps.values.reserve(text.size());
  cps.offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const DecodedCodePoint d = DecodeUtf8(text, pos);
    cps.values.push_back(d.code_point);
    cps.offsets.push_back(pos);
    pos += d.length;
  }
  cps.offsets.push_back(text.size());
  return cps;
}

enum class CharClass { kLetter, kNumber, kWhitespace, kOther };

CharClass Classify(uint32_t cp) {
  if (IsLetter(cp)) return CharClass::kLetter;
  if (IsNumber(cp)) return CharClass::kNumber;
  if (IsWhitespace(cp)) return CharClass::kWhitespace;
  return CharClass::kOther;
}

// Length (in code points) of the contraction 's 't 'm 'd 're 've 'll at i,
// or 0. Case-sensitive, as GPT-2's regex is.
size_t ContractionAt(const std::vector<uint32_t>& cps, size_t i, size_t end) {
  if (cps[i] != '\'' || i + 1 >= end) return 0;
  const uint32_t a = cps[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= end) return 0;
  const uint32_t b = cps[i + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// The end of the GPT-2 regex's match that starts at i (i < end).
size_t Gpt2MatchEnd(const std::vector<uint32_t>& cps, size_t i, size_t end) {
  if (size_t n = ContractionAt(cps, i, end)) return i + n;
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space, then a
  // run of one class.
  const size_t run_start = (cps[i] == ' ' && i + 1 < end) ? i + 1 : i;
  const CharClass run_class = Classify(cps[run_start]);
  if (run_class != CharClass::kWhitespace) {
    size_t j = run_start + 1;
    while (j < end && Classify(cps[j]) == run_class) ++j;
    return j;
  }
  // Whitespace at run_start (so no optional-space alternative matched at i,
  // not even with the space left out): the whitespace alternatives take it.
  // '\s+(?!\S)': a whitespace run that is followed by a non-space gives its
  // last character to the next piece; '\s+' takes a single one.
  size_t j = i + 1;
  while (j < end && Classify(cps[j]) == CharClass::kWhitespace) ++j;
  if (j < end && j - i > 1) return j - 1;
  return j;
}

void SplitGpt2(const CodePoints& cps, size_t begin, size_t end, std::string_view text,
               std::vector<std::string_view>& out) {
  for (size_t i = begin; i < end;) {
    const size_t j = Gpt2MatchEnd(cps.values, i, end);
    out.push_back(text.substr(cps.offsets[i], cps.offsets[j] - cps.offsets[i]));
    i = j;
  }
}

}  // namespace

uint32_t ByteToCodePoint(uint8_t byte) {
  if (StandsForItself(byte)) return byte;
  if (byte <= 0x20) return 0x100 + byte;
  if (byte >= 0x7F && byte <= 0xA0) return 0x100 + 33 + (byte - 0x7F);
  return 0x100 + 33 + 34;  // 0xAD, the soft hyphen
}

std::optional<uint8_t> CodePointToByte(uint32_t cp) {
  if (cp < 0x100) {
    if (StandsForItself(cp)) return static_cast<uint8_t>(cp);
    return std::nullopt;
  }
  if (cp <= 0x100 + 0x20) return static_cast<uint8_t>(cp - 0x100);
  if (cp <= 0x100 + 33 + 33) return static_cast<uint8_t>(cp - 0x100 - 33 + 0x7F);
  if (cp == 0x100 + 33 + 34) return static_cast<uint8_t>(0xAD);
  return std::nullopt;
}

std::vector<std::string_view> PreTokenize(std::string_view text, PreTokenizer pre) {
  const CodePoints cps = Decode(text);
  const size_t n = cps.values.size();
  std::vector<std::string_view> pieces;
  pieces.reserve(n / 3 + 1);
  if (pre == PreTokenizer::kGpt2) {
    SplitGpt2(cps, 0, n, text, pieces);
    return pieces;
  }
  size_t gap_start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsNumber(cps.values[i])) continue;
    SplitGpt2(cps, gap_start, i, text, pieces);
    pieces.push_back(text.substr(cps.offsets[i], cps.offsets[i + 1] - cps.offsets[i]));
    gap_start = i + 1;
  }
  SplitGpt2(cps, gap_start, n, text, pieces);
  return pieces;
}

}  // namespace kpolicy::model
