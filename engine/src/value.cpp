#include "kpolicy/value.h"

#include <cstdio>

namespace kpolicy {

std::optional<int> Type::MemberIndex(std::string_view name) const {
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

bool Type::ComparableWith(const Type& other) const {
  if (kind != other.kind) return false;
  return kind != TypeKind::kEnum || members == other.members;
}

std::string Type::ToString() const {
  switch (kind) {
    case TypeKind::kBool: return "bool";
    case TypeKind::kString: return "string";
    case TypeKind::kVersion: return "version";
    case TypeKind::kInt: {
      if (!has_range()) return "int";
      return "int " + std::to_string(min) + ".." + std::to_string(max);
    }
    case TypeKind::kEnum: {
      std::string out = "enum {";
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += ", ";
        out += members[i];
      }
      return out + "}";
    }
  }
  return "?";
}

std::string FormatValue(const Type& type, const Value& value) {
  switch (type.kind) {
    case TypeKind::kBool: return value.number ? "true" : "false";
    case TypeKind::kInt: return std::to_string(value.number);
    case TypeKind::kString:
    case TypeKind::kVersion: return value.text;
    case TypeKind::kEnum:
      if (value.number >= 0 && static_cast<size_t>(value.number) < type.members.size()) {
        return type.members[value.number];
      }
      return "<member " + std::to_string(value.number) + ">";
  }
  return "?";
}

std::string FormatNumber(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

bool IsVersionText(std::string_view text) {
  if (text.empty()) return false;
  bool digit_before = false;
  for (char c : text) {
    if (c == '.') {
      if (!digit_before) return false;
      digit_before = false;
    } else if (c >= '0' && c <= '9') {
      digit_before = true;
    } else {
      return false;
    }
  }
  return digit_before;
}

namespace {

// The next dot-separated component of `text` from `pos` as a number;
// components longer than 18 digits are refused rather than wrapped.
Expected<int64_t> NextComponent(std::string_view text, size_t& pos) {
  int64_t n = 0;
  size_t digits = 0;
  while (pos < text.size() && text[pos] != '.') {
    const char c = text[pos++];
    if (c < '0' || c > '9' || ++digits > 18) {
      return Fail(ErrorCode::kInvalidInput, "'" + std::string(text) + "' is not a version (digits separated by dots)");
    }
    n = n * 10 + (c - '0');
  }
  if (pos < text.size()) ++pos;  // the dot
  return n;
}

}  // namespace

Expected<int> CompareVersions(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    auto x = NextComponent(a, i);
    if (!x.ok()) return Fail(x.error());
    auto y = NextComponent(b, j);
    if (!y.ok()) return Fail(y.error());
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}

bool InRange(const Type& type, const Value& value) {
  if (type.kind != TypeKind::kInt) return true;
  return value.number >= type.min && value.number <= type.max;
}

std::optional<std::string> CanonicalValueText(const Type& type, const std::string& text) {
  switch (type.kind) {
    case TypeKind::kBool:
      if (text == "true" || text == "false") return text;
      return std::nullopt;
    case TypeKind::kInt: {
      if (text.empty()) return std::nullopt;
      size_t used = 0;
      try {
        const long long n = std::stoll(text, &used);
        if (used != text.size() || !InRange(type, Value::Int(n))) return std::nullopt;
        return std::to_string(n);
      } catch (...) {
        return std::nullopt;
      }
    }
    case TypeKind::kEnum:
      if (type.MemberIndex(text)) return text;
      return std::nullopt;
    case TypeKind::kString:
    case TypeKind::kVersion:
      return text;
  }
  return std::nullopt;
}

}  // namespace kpolicy
