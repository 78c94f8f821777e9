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
    case TypeKind::kString: return value.text;
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

bool InRange(const Type& type, const Value& value) {
  if (type.kind != TypeKind::kInt) return true;
  return value.number >= type.min && value.number <= type.max;
}

}  // namespace kpolicy
