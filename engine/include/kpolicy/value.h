// Type and Value: the typed values that knobs, facts and expressions carry.
// A knob's type is declared in the policy (bool, int with a range, string,
// enum with its members) and checked once at load, so evaluation never meets
// a value of the wrong kind.
//
// Thread-safety: value types.
#ifndef KPOLICY_VALUE_H_
#define KPOLICY_VALUE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expected.h"

namespace kpolicy {

// kVersion: dotted numbers ("580.159.04"), compared component-wise as
// numbers, so "570.207" < "580.159.04" and "9.0" < "12.1".
enum class TypeKind { kBool, kInt, kString, kEnum, kVersion };

struct Type {
  TypeKind kind = TypeKind::kBool;
  std::vector<std::string> members;  // kEnum only, in declaration order
  int64_t min = std::numeric_limits<int64_t>::min();  // kInt only, inclusive
  int64_t max = std::numeric_limits<int64_t>::max();

  static Type Bool() { return {TypeKind::kBool, {}}; }
  static Type Int() { return {TypeKind::kInt, {}}; }
  static Type String() { return {TypeKind::kString, {}}; }
  static Type Version() { return {TypeKind::kVersion, {}}; }

  bool has_range() const {
    return min != std::numeric_limits<int64_t>::min() || max != std::numeric_limits<int64_t>::max();
  }
  // The index of `name` among an enum's members.
  std::optional<int> MemberIndex(std::string_view name) const;
  // Same kind and, for enums, the same members: the values can be compared.
  bool ComparableWith(const Type& other) const;
  // "bool", "int", "int 1..32", "string", "enum {Legacy, Wide}".
  std::string ToString() const;
};

// A value whose kind its Type gives: bool and enum (the member's index) live
// in `number`, strings and versions in `text`.
struct Value {
  int64_t number = 0;
  std::string text;

  static Value Bool(bool b) { return {b ? 1 : 0, {}}; }
  static Value Int(int64_t n) { return {n, {}}; }
  static Value String(std::string s) { return {0, std::move(s)}; }
  static Value Enum(int index) { return {index, {}}; }

  bool operator==(const Value& other) const = default;
};

// The value as a person reads it: HwDp4a, true, 3, sm_90.
std::string FormatValue(const Type& type, const Value& value);

// A measured figure as people and the record files read it: six
// significant digits, no trailing zeros ("0.9817", "1.2e-07", "3352").
std::string FormatNumber(double value);

// Compares two versions component by component as numbers; a missing
// component counts as 0 ("12" == "12.0"), and so does an unknown (empty)
// version, which is therefore below every real one. Returns <0, 0 or >0.
// Fails (kInvalidInput) on a component that is not decimal digits.
Expected<int> CompareVersions(std::string_view a, std::string_view b);
// Whether `text` is a version: digit groups separated by single dots.
bool IsVersionText(std::string_view text);

// Whether `value` lies in an int type's range (always true for other kinds).
bool InRange(const Type& type, const Value& value);

// `text` as FormatValue writes a value of `type` (an enum member, true or
// false, an int in range), or nullopt when no value of the type reads so:
// for text from files that names a knob's value (a record's variant, a
// case's expectation).
std::optional<std::string> CanonicalValueText(const Type& type, const std::string& text);

}  // namespace kpolicy

#endif  // KPOLICY_VALUE_H_
