// Printable text: UTF-8 decoding and the escaping that makes any bytes safe
// to show on a terminal. Names, values and messages that reach a person come
// from files and environments an attacker may write: a knob named with an
// escape sequence could clear the screen, retitle the window or hide the
// error after it, and a right-to-left override could make the text read
// other than it is. So text for people escapes every control character but
// newline and tab, C1 controls, bidirectional controls and bytes that are
// not UTF-8 (`\x1b`, `\u202e`, `\xff`), whatever the colour setting;
// JSON output escapes the same code points (json.h).
//
// Header-only and dependency-free (error.h uses it). Thread-safety: pure
// functions and constants.
#ifndef KPOLICY_PRINTABLE_H_
#define KPOLICY_PRINTABLE_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kpolicy {

// The code point that starts at `s[i]` into `cp`, and its length in bytes;
// 0 when the bytes there are not UTF-8 (a stray continuation byte, an
// overlong or truncated sequence, a surrogate, beyond U+10FFFF).
inline int DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  int length = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) { length = 2; cp = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { length = 3; cp = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { length = 4; cp = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (i + length > s.size()) return 0;
  for (int k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

// The byte offset of the first bytes in `s` that are not UTF-8, or npos.
inline size_t FindInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const int n = DecodeUtf8(s, i, cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

// Code points a terminal acts on instead of showing: C0 controls but
// newline and tab, DEL, C1 controls, and the bidirectional embedding,
// override and isolate controls.
inline bool IsUnprintable(uint32_t cp) {
  if (cp == '\n' || cp == '\t') return false;
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

// `s` with every unprintable code point written as an escape (`\x1b` below
// U+0100, `\u202e` above) and every byte that is not UTF-8 as `\xNN`.
// Printable text comes back unchanged, so escaping twice changes nothing.
inline std::string PrintableText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[12];
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const int n = DecodeUtf8(s, i, cp);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    if (IsUnprintable(cp)) {
      std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.data() + i, static_cast<size_t>(n));
    }
    i += n;
  }
  return out;
}

// The terminal styles kpolicy's own text output uses (explain and eval with
// colour): the only escape sequences a printable-output filter lets through,
// and only when colour is on.
namespace terminal_style {
inline constexpr std::string_view kReset = "\033[0m";
inline constexpr std::string_view kBold = "\033[1m";
inline constexpr std::string_view kDim = "\033[2m";
inline constexpr std::string_view kRed = "\033[31m";
inline constexpr std::string_view kGreen = "\033[32m";
inline constexpr std::string_view kYellow = "\033[33m";
inline constexpr std::string_view kCyan = "\033[36m";
inline constexpr std::string_view kAll[] = {kReset, kBold, kDim, kRed, kGreen, kYellow, kCyan};
}  // namespace terminal_style

}  // namespace kpolicy

#endif  // KPOLICY_PRINTABLE_H_
