// Expression: the small typed language of `when:` conditions, `value:` and
// `default:` entries and derived facts.
//
//   literals     42  true  false  "sm_90"
//   names        device.cc  has_dp4a  q4k  (facts, knobs, and inside an env
//                override the variable's own text: MWV_WARPS)
//   enum members bare, where the other side or the expected type is that
//                enum: q4k == HwDp4a, value: Mwv
//   operators    ! - (unary)  * / %  + -  < <= > >= == !=  &&  ||
//                (+ also joins strings; comparisons do not chain)
//   functions    str(int) -> string, int(string) -> int (fails on non-digits),
//                version(string) -> version, min(int, int, ...), max(int, int, ...),
//                clamp(int x, int lo, int hi)
//   versions     device.driver >= "575.51" compares component-wise as numbers
//
// Compile() parses, resolves every name to a slot and checks types once;
// Evaluate() then touches no names. Errors carry the column where they are.
//
// Thread-safety: a compiled Expression is immutable; Evaluate is const.
#ifndef KPOLICY_EXPRESSION_H_
#define KPOLICY_EXPRESSION_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/diagnostic.h"
#include "kpolicy/evaluation_budget.h"
#include "kpolicy/value.h"

namespace kpolicy {

// What a name in an expression refers to: a slot of the evaluation's value
// array and the type of what is stored there.
struct Symbol {
  int slot = -1;
  const Type* type = nullptr;
};

class SymbolTable {
 public:
  virtual ~SymbolTable() = default;
  virtual std::optional<Symbol> Find(std::string_view name) const = 0;
  // Every name in scope, for "did you mean" suggestions.
  virtual std::vector<std::string> Names() const = 0;
};

// Where each character of an expression's text stands in its file, so an
// error points at the character even in a folded, multi-line or escaped
// YAML scalar. Built from the start alone, it assumes one unescaped line.
class TextLocations {
 public:
  TextLocations(SourceLocation start) : start_(std::move(start)) {}  // NOLINT: implicit on purpose
  // `line_column[i]` is the place of the text's character i.
  TextLocations(SourceLocation start, std::vector<std::pair<int, int>> line_column)
      : start_(std::move(start)), line_column_(std::move(line_column)) {}

  SourceLocation At(int offset) const;

 private:
  SourceLocation start_;
  std::vector<std::pair<int, int>> line_column_;
};

class Expression {
 public:
  Expression() = default;

  // Compiles `text`, whose characters stand in their file where `where`
  // says. With `expected`, the result must have that type, and a bare name
  // that is one of an expected enum's members is that member. Errors come
  // in the order of their columns.
  static Checked<Expression> Compile(std::string_view text, const TextLocations& where,
                                     const SymbolTable& symbols, const Type* expected);

  // Evaluates over `slots` (indexed as the SymbolTable said). Fails only on
  // int() of a non-number, version() of a non-version, clamp() with lo > hi,
  // division by zero, overflow, or a string longer than limits::kStringBytes:
  // an Error (kInvalidInput) at the place of the operator or call that
  // failed, saying which. A part of the expression that reads nothing and
  // would fail this way is refused by Compile instead.
  // Cost: one pass over the compiled nodes, no name lookups. With a
  // budget, each node visited is spent from it (and a string copied or
  // built, by its size); once it is spent the evaluation fails there.
  Expected<Value> Evaluate(const std::vector<Value>& slots, EvaluationBudget* budget = nullptr) const;

  // The names `text` refers to, functions left out, each once in order of
  // first use; empty when it does not lex. For ordering what must compile
  // first (a fact's type is its expression's).
  static std::vector<std::string> NamesIn(std::string_view text);

  const std::string& text() const { return text_; }
  // Where the expression's first character stands in its file.
  const SourceLocation& place() const { return place_; }
  const Type& type() const { return type_; }
  // The slots this expression reads, each once, in order of first use.
  const std::vector<int>& reads() const { return reads_; }
  // The value, when the expression reads nothing and evaluates.
  const std::optional<Value>& constant() const { return constant_; }

  // A literal this expression compares a slot with (`device.num_sms >= 100`,
  // `FP8_PREFILL == "1"`, `int(MWV_WARPS) > 4`): the values at which its
  // answer can change, for tools that enumerate a policy's inputs
  // (policy_lint.h). Only comparisons of a slot, or of int()/version() of a
  // slot, with a literal are found; `device.memory_mib / 1024 >= 80` is not.
  struct Comparison {
    int slot = -1;
    Value literal;
    bool through_int = false;  // int(slot) was compared: the literal is an int
  };
  std::vector<Comparison> ComparedLiterals() const;

 private:
  friend class ExpressionCompiler;

  enum class Op : uint8_t {
    kLiteral, kSlot, kNot, kNegate, kAnd, kOr,
    kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual,
    kTextEqual, kTextNotEqual,
    kAdd, kSubtract, kMultiply, kDivide, kModulo, kConcat,
    kToString, kToInt, kToVersion, kMin, kMax, kClamp,
    kVersionEqual, kVersionNotEqual, kVersionLess, kVersionLessEqual, kVersionGreater,
    kVersionGreaterEqual,
  };
  struct Node {
    Op op = Op::kLiteral;
    int left = -1;   // child node index
    int right = -1;
    int third = -1;  // kClamp's upper bound
    int slot = -1;   // kSlot
    Value literal;   // kLiteral
    int column = -1;  // offset in the text of the operator, call or operand
  };

  Expected<Value> EvaluateNode(int index, const std::vector<Value>& slots, EvaluationBudget* budget) const;
  // The failure of the first part that reads nothing and fails, if any.
  std::optional<Error> FailingConstantPart() const;
  // An evaluation failure at node `n`'s place.
  Unexpected<Error> Failure(const Node& n, std::string message) const;

  std::string text_;
  SourceLocation place_;
  TextLocations where_{SourceLocation{}};
  std::vector<Node> nodes_;
  int root_ = -1;
  Type type_;
  std::vector<int> reads_;
  std::optional<Value> constant_;
};

}  // namespace kpolicy

#endif  // KPOLICY_EXPRESSION_H_
