#include "kpolicy/json.h"

#include "kpolicy/limits.h"
#include "kpolicy/printable.h"
#include "kpolicy/value.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <tuple>

namespace kpolicy {

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  char buf[8];
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const int n = DecodeUtf8(text, i, cp);
    if (n == 0) {
      // JSON text is UTF-8: a byte that is not becomes U+FFFD.
      out += "\\ufffd";
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (IsUnprintable(cp)) {  // controls, C1, bidirectional controls: escaped, same meaning
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out += buf;
        } else {
          out.append(text.data() + i, static_cast<size_t>(n));
        }
    }
    i += n;
  }
  out += '"';
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (counts_.empty()) return;
  if (counts_.back()++ > 0) out_ += ',';
  if (indent_ > 0) {
    out_ += '\n';
    out_.append(counts_.size() * indent_, ' ');
  }
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_ += c;
  counts_.push_back(0);
}

void JsonWriter::Close(char c) {
  const bool had_items = counts_.back() > 0;
  counts_.pop_back();
  if (indent_ > 0 && had_items) {
    out_ += '\n';
    out_.append(counts_.size() * indent_, ' ');
  }
  out_ += c;
}

JsonWriter& JsonWriter::BeginObject() { Open('{'); return *this; }
JsonWriter& JsonWriter::EndObject() { Close('}'); return *this; }
JsonWriter& JsonWriter::BeginArray() { Open('['); return *this; }
JsonWriter& JsonWriter::EndArray() { Close(']'); return *this; }

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  out_ += JsonQuote(key);
  out_ += indent_ > 0 ? ": " : ":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  out_ += JsonQuote(value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  out_ += FormatNumber(value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonValue::JsonValue() = default;
JsonValue::~JsonValue() = default;
JsonValue::JsonValue(const JsonValue&) = default;
JsonValue::JsonValue(JsonValue&&) noexcept = default;
JsonValue& JsonValue::operator=(const JsonValue&) = default;
JsonValue& JsonValue::operator=(JsonValue&&) noexcept = default;

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  while (!json.empty() && json.back() == '\n') json.remove_suffix(1);
  if (indent_ == 0) {
    out_ += json;
    return *this;
  }
  // A rendered value's newlines are all layout: JsonQuote escapes the ones
  // inside strings.
  for (char c : json) {
    out_ += c;
    if (c == '\n') out_.append(counts_.size() * indent_, ' ');
  }
  return *this;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

constexpr int kMaxJsonDepth = limits::kJsonDepth;

// The end of the run of plain string characters from `i`: the first byte
// that is not printable ASCII ('"', '\\', a control character < 0x20, or a
// byte >= 0x80, which String takes one at a time), or the end of `s`. Most
// bytes of a large document are ASCII inside strings, so eight are tested
// at a time with the word tests of Bit Twiddling Hacks ("haszero",
// "hasless" for n <= 128): the lowest flagged byte of a word is its first
// match (a borrow can flag bytes above a match, never below one).
size_t PlainRunEnd(std::string_view s, size_t i) {
  // Byte k of the text is byte k of the word from the least significant up.
  static_assert(std::endian::native == std::endian::little);
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  const auto zero_bytes = [](uint64_t x) { return (x - kOnes) & ~x & kHighBits; };
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighBits;
    const uint64_t flags =
        zero_bytes(word ^ (kOnes * '"')) | zero_bytes(word ^ (kOnes * '\\')) | below_space | (word & kHighBits);
    if (flags) return i + static_cast<size_t>(std::countr_zero(flags)) / 8;
  }
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++i;
  }
  return i;
}

class JsonParser {
 public:
  JsonParser(std::string_view s, JsonKeep keep, const JsonArrayStream* stream)
      : s_(s), keep_(keep), stream_(stream) {}

  Expected<JsonValue> Document() {
    JsonValue v;
    if (!Parse(v, 0)) {
      if (stream_error_) return Fail(std::move(*stream_error_));
      return Fail(ErrorAt(error_));
    }
    SkipSpace();
    if (i_ != s_.size()) return Fail(ErrorAt(At("unexpected text after the JSON value")));
    return v;
  }

 private:
  // The place carries the byte offset (no file: ToString shows the message
  // alone), so a reader of a multi-line file can turn it into line:column.
  kpolicy::Error ErrorAt(std::string message) const {
    SourceLocation place;
    place.offset = static_cast<int64_t>(i_);
    return kpolicy::Error(ErrorCode::kInvalidInput, std::move(place), std::move(message));
  }
  std::string At(const std::string& message) const {
    return "column " + std::to_string(i_ + 1) + ": " + message;
  }
  bool Error(const std::string& message) {
    error_ = At(message);
    return false;
  }
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return Error("unexpected character");
    i_ += word.size();
    return true;
  }

  // `depth` containers enclose the value: one more than the limit is
  // refused at its bracket.
  bool Parse(JsonValue& v, int depth) {
    SkipSpace();
    if (i_ >= s_.size()) return Error("unexpected end of input");
    const char c = s_[i_];
    if ((c == '{' || c == '[') && depth >= kMaxJsonDepth) {
      return Error("nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    if (c == '{') return Object(v, depth);
    if (c == '[') return Array(v, depth);
    if (c == '"') { v.kind = JsonValue::kString; return String(v.text); }
    if (c == 't') { v.kind = JsonValue::kBool; v.boolean = true; return Literal("true"); }
    if (c == 'f') { v.kind = JsonValue::kBool; v.boolean = false; return Literal("false"); }
    if (c == 'n') { v.kind = JsonValue::kNull; return Literal("null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(v);
    return Error(std::string("unexpected character '") + c + "'");
  }

  bool Object(JsonValue& v, int depth) {
    v.kind = JsonValue::kObject;
    ++i_;
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
    // Members gather in this depth's buffer (an object nested in this one
    // is deeper) and move into v at the end, in one allocation of the right
    // size rather than a vector grown a member at a time.
    auto& members = member_buffers_[depth];
    members.clear();
    std::vector<size_t> key_offsets;  // of each kept member's key
    while (true) {
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] != '"') return Error("expected a string key");
      const size_t key_offset = i_;
      // Keys are read into a buffer per depth, copied only when kept: a
      // filtered document drops most of its keys.
      std::string& key = key_buffers_[depth];
      key.clear();
      if (!String(key)) return false;
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] != ':') return Error("expected ':' after a key");
      ++i_;
      // A member the filter leaves out is still parsed (and checked), but
      // nothing of it is built.
      const bool building = build_;
      const bool on_path = building && (keep_ || stream_);
      if (on_path) {
        path_.push_back(key);
        if (keep_) build_ = keep_(path_);
      }
      JsonValue member;
      const bool streamed = build_ && stream_ && path_ == stream_->path;
      const bool parsed = streamed ? StreamedArray(member, depth + 1) : Parse(member, depth + 1);
      if (on_path) path_.pop_back();
      const bool kept = build_;
      build_ = building;
      if (!parsed) return false;
      if (kept) {
        members.emplace_back(key, std::move(member));
        key_offsets.push_back(key_offset);
      }
      SkipSpace();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        v.members.assign(std::make_move_iterator(members.begin()), std::make_move_iterator(members.end()));
        members.clear();
        return NoDuplicateKeys(v, key_offsets);
      }
      return Error("expected ',' or '}'");
    }
  }

  // Readers find a member by its key, others iterate: with a key written
  // twice they would disagree on which one counts, so it is an error, at
  // the second. Sorting positions by key keeps it n log n in the members.
  bool NoDuplicateKeys(const JsonValue& v, const std::vector<size_t>& key_offsets) {
    std::vector<size_t> order(v.members.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(v.members[a].first, key_offsets[a]) < std::tie(v.members[b].first, key_offsets[b]);
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const std::string& key = v.members[order[k]].first;
      if (key != v.members[order[k - 1]].first) continue;
      i_ = key_offsets[order[k]];
      return Error("duplicate key \"" + key + "\" (first at column " + std::to_string(key_offsets[order[k - 1]] + 1) + ")");
    }
    return true;
  }

  bool Array(JsonValue& v, int depth) {
    v.kind = JsonValue::kArray;
    ++i_;
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
    while (true) {
      JsonValue item;
      if (!Parse(item, depth + 1)) return false;
      if (build_) v.items.push_back(std::move(item));
      SkipSpace();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
      return Error("expected ',' or ']'");
    }
  }

  // The array stream_ names: each element to stream_->take, none kept.
  bool StreamedArray(JsonValue& v, int depth) {
    SkipSpace();
    if (i_ >= s_.size() || s_[i_] != '[') return Parse(v, depth);  // not an array: the caller says so
    v.kind = JsonValue::kArray;
    ++i_;
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
    for (size_t index = 0;; ++index) {
      JsonValue item;
      if (!Parse(item, depth + 1)) return false;
      if (Status taken = stream_->take(index, std::move(item)); !taken.ok()) {
        stream_error_ = std::move(taken).error();
        return false;
      }
      SkipSpace();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
      return Error("expected ',' or ']'");
    }
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  static std::string Hex(uint32_t cp) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(cp));
    return buf;
  }

  bool Hex4(uint32_t& cp) {
    if (i_ + 4 > s_.size()) return Error("truncated \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= h - '0';
      else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
      else return Error("bad \\u escape");
    }
    return true;
  }

  bool String(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      // Plain characters up to the next quote, escape or control character
      // in one append: most strings have no escapes.
      // The word scan stops at every byte >= 0x80: each UTF-8 sequence is
      // checked here, then the run goes on.
      size_t end = PlainRunEnd(s_, i_);
      while (end < s_.size() && static_cast<unsigned char>(s_[end]) >= 0x80) {
        uint32_t cp = 0;
        const int n = DecodeUtf8(s_, end, cp);
        if (n == 0) {
          i_ = end;
          return Error("not UTF-8: JSON text is UTF-8");
        }
        end = PlainRunEnd(s_, end + n);
      }
      if (build_) out.append(s_.data() + i_, end - i_);
      i_ = end;
      if (i_ >= s_.size()) break;
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        --i_;  // the column is the character's own
        return Error("control character in a string");
      }
      // c is the escape's backslash: the run above stops only at a quote, a
      // backslash, a control character or the end.
      if (i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.substr(i_, 2) != "\\u") return Error("lone surrogate \\u" + Hex(cp) + ": not a character");
            i_ += 2;
            uint32_t low = 0;
            if (!Hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Error("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("lone surrogate \\u" + Hex(cp) + ": not a character");
          } else if (cp == 0) {
            // Names and environment values are C strings: a NUL would cut
            // them short in one reader and not in another.
            return Error("\\u0000 (NUL) in a string: kpolicy's inputs are text");
          }
          if (build_) AppendUtf8(out, cp);
          break;
        }
        default: return Error(std::string("unknown escape '\\") + e + "'");
      }
    }
    return Error("string is not closed");
  }

  bool Number(JsonValue& v) {
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    auto digits = [&] {
      const size_t before = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > before;
    };
    if (!digits()) return Error("bad number");
    if (i_ < s_.size() && s_[i_] == '.') { ++i_; if (!digits()) return Error("bad number"); }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return Error("bad number");
    }
    v.kind = JsonValue::kNumber;
    if (build_) v.text = std::string(s_.substr(start, i_ - start));
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
  JsonKeep keep_ = nullptr;
  const JsonArrayStream* stream_ = nullptr;
  std::optional<kpolicy::Error> stream_error_;  // what stream_->take refused with
  std::vector<std::string_view> path_;  // keys from the root while keep_ or stream_ needs them
  bool build_ = true;                   // false inside a member keep_ left out
  std::string key_buffers_[kMaxJsonDepth + 2];
  std::vector<std::pair<std::string, JsonValue>> member_buffers_[kMaxJsonDepth + 2];
};

}  // namespace

Expected<JsonValue> ParseJson(std::string_view text, JsonKeep keep, const JsonArrayStream* stream) {
  return JsonParser(text, keep, stream).Document();
}

}  // namespace kpolicy
