// Expression: compile-time checks (syntax, names, types, columns) and
// evaluation (precedence, short-circuit, overflow, conversions) of the
// policy language's expressions, against a small fixed symbol table.
#define BOOST_TEST_MODULE expression_test
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/expression.h"
#include "map_symbols.h"

namespace kpolicy {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// Every expression below starts at t.yaml:3:10, so a character at offset K
// of the expression text is reported at column 10 + K.
constexpr int kLine = 3;
constexpr int kColumn = 10;

Type Color() { return Type{TypeKind::kEnum, {"Red", "Green", "Blue"}}; }
Type Shape() { return Type{TypeKind::kEnum, {"Circle", "Square"}}; }
Type Warps() {
  Type t = Type::Int();
  t.min = 1;
  t.max = 32;
  return t;
}

// Slots: a b c (bool), x y (int), s (string), e (Color), f (Shape),
// big (int), device.cc (int).
class TestSymbols : public MapSymbols {
 public:
  TestSymbols() {
    Add("a", Type::Bool());
    Add("b", Type::Bool());
    Add("c", Type::Bool());
    Add("x", Type::Int());
    Add("y", Type::Int());
    Add("s", Type::String());
    Add("e", Color());
    Add("f", Shape());
    Add("big", Type::Int());
    Add("device.cc", Type::Int());
  }
};

const TestSymbols& Symbols() {
  static const TestSymbols symbols;
  return symbols;
}
int Slot(const std::string& name) { return Symbols().SlotOf(name); }

// a=true b=false c=true x=7 y=3 s="hi" e=Green f=Square big=INT64_MAX cc=90.
std::vector<Value> DefaultSlots() {
  return {Value::Bool(true), Value::Bool(false), Value::Bool(true), Value::Int(7), Value::Int(3),
          Value::String("hi"), Value::Enum(1), Value::Enum(1), Value::Int(kMax), Value::Int(90)};
}

Checked<Expression> Compile(std::string_view text, const Type* expected = nullptr) {
  return Expression::Compile(text, SourceLocation{"t.yaml", kLine, kColumn}, Symbols(), expected);
}

// Compiles and evaluates; the error text is the compile diagnostics or the
// evaluation error.
Expected<Value> Eval(std::string_view text,
                     const std::vector<Value>& slots = DefaultSlots()) {
  auto compiled = Compile(text);
  if (!compiled.ok()) return Fail(ErrorCode::kInvalidInput, "compile: " + compiled.error().ToString());
  return compiled->Evaluate(slots);
}

#define CHECK_TRUE(text)                                                                \
  do {                                                                                  \
    auto r_ = Eval(text);                                                               \
    BOOST_TEST_INFO("expression: " << (text));                                          \
    BOOST_TEST_INFO("error: " << (r_.ok() ? std::string("-") : r_.error().ToString())); \
    BOOST_TEST(r_.ok());                                                                \
    if (r_.ok()) BOOST_TEST(r_->number == 1);                                           \
  } while (0)

#define CHECK_VALUE(text, expected_value)                                               \
  do {                                                                                  \
    auto r_ = Eval(text);                                                               \
    BOOST_TEST_INFO("expression: " << (text));                                          \
    BOOST_TEST_INFO("error: " << (r_.ok() ? std::string("-") : r_.error().ToString())); \
    BOOST_TEST(r_.ok());                                                                \
    if (r_.ok()) BOOST_TEST((*r_ == (expected_value)));                                 \
  } while (0)

// Compiles fine, fails at evaluation with a message holding `phrase`.
#define CHECK_EVAL_FAILS(text, phrase)                                                  \
  do {                                                                                  \
    auto c_ = Compile(text);                                                            \
    BOOST_TEST_INFO("expression: " << (text));                                          \
    BOOST_TEST_INFO("diagnostics: " << (c_.ok() ? std::string("-") : c_.error().ToString())); \
    BOOST_TEST_REQUIRE(c_.ok());                                                        \
    auto r_ = c_->Evaluate(DefaultSlots());                                             \
    BOOST_TEST_REQUIRE(!r_.ok());                                                       \
    BOOST_TEST_INFO("error: " << r_.error().ToString());                                \
    BOOST_TEST(r_.error().message.find(phrase) != std::string::npos);                   \
  } while (0)

// int(s) with the string slot `s` holding `text` fails at evaluation with a
// message holding `phrase`: int()'s parsing, tested where the text is not
// known at compile time.
#define CHECK_INT_OF_FAILS(text, phrase)                                                \
  do {                                                                                  \
    std::vector<Value> slots_ = DefaultSlots();                                         \
    slots_[Slot("s")] = Value::String(text);                                            \
    auto r_ = Eval("int(s)", slots_);                                                   \
    BOOST_TEST_INFO("s = \"" << (text) << "\"");                                        \
    BOOST_TEST_REQUIRE(!r_.ok());                                                       \
    BOOST_TEST_INFO("error: " << r_.error().ToString());                                \
    BOOST_TEST(r_.error().message.find(phrase) != std::string::npos);                   \
  } while (0)

// Compile fails; the first diagnostic is at `column` (of line kLine) and
// holds `phrase`.
#define CHECK_COMPILE_ERROR_T(text, expected_type, want_column, phrase)                      \
  do {                                                                                  \
    auto c_ = Compile(text, expected_type);                                             \
    BOOST_TEST_INFO("expression: " << (text));                                          \
    BOOST_TEST_REQUIRE(!c_.ok());                                                       \
    const Diagnostics& d_ = c_.error();                                                 \
    BOOST_TEST_INFO("diagnostics:\n" << d_.ToString());                                 \
    BOOST_TEST_REQUIRE(!d_.empty());                                                    \
    BOOST_TEST(d_.has_errors());                                                        \
    BOOST_TEST(d_.all()[0].location.file == "t.yaml");                                  \
    BOOST_TEST(d_.all()[0].location.line == kLine);                                     \
    BOOST_TEST(d_.all()[0].location.column == (want_column));                                \
    BOOST_TEST(d_.all()[0].message.find(phrase) != std::string::npos);                  \
  } while (0)
#define CHECK_COMPILE_ERROR(text, want_column, phrase) \
  CHECK_COMPILE_ERROR_T(text, nullptr, want_column, phrase)
// A part that reads nothing and fails on every evaluation is refused when
// it compiles, at the operator or call that fails.
#define CHECK_ALWAYS_FAILS(text, want_column, phrase)                     \
  do {                                                                    \
    CHECK_COMPILE_ERROR(text, want_column, "always fails");               \
    CHECK_COMPILE_ERROR(text, want_column, phrase);                       \
  } while (0)

std::string Repeat(std::string_view piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

// ---- Precedence and associativity -------------------------------------------

BOOST_AUTO_TEST_CASE(multiplication_binds_tighter_than_addition) {
  CHECK_TRUE("1 + 2 * 3 == 7");
  CHECK_TRUE("(1 + 2) * 3 == 9");
  CHECK_TRUE("2 * 3 + 1 == 7");
  CHECK_VALUE("1 + 2 * 3 % 4", Value::Int(3));  // (2 * 3) % 4 = 2
  CHECK_VALUE("20 / 2 * 5", Value::Int(50));    // left to right, not 20 / 10
}

BOOST_AUTO_TEST_CASE(subtraction_and_division_associate_left) {
  CHECK_VALUE("10 - 4 - 3", Value::Int(3));
  CHECK_VALUE("100 / 10 / 5", Value::Int(2));
  CHECK_VALUE("100 % 7 % 3", Value::Int(2));  // (100 % 7) % 3 = 2 % 3
}

BOOST_AUTO_TEST_CASE(not_binds_tighter_than_and_which_binds_tighter_than_or) {
  // a=true b=false c=true: (!a && b) || c is true; !(a && b || c) and
  // !a && (b || c) are both false.
  CHECK_TRUE("!a && b || c");
  CHECK_VALUE("!(a && b || c)", Value::Bool(false));
  CHECK_VALUE("!a && (b || c)", Value::Bool(false));
  // a || b && b: a || (b && b) = true; (a || b) && b would be false.
  CHECK_TRUE("a || b && b");
}

BOOST_AUTO_TEST_CASE(comparison_binds_looser_than_arithmetic_and_tighter_than_logic) {
  CHECK_TRUE("x + 1 > y * 2 && y - 3 == 0");
  CHECK_TRUE("(x > y) == true");
}

BOOST_AUTO_TEST_CASE(unary_minus) {
  CHECK_VALUE("-x + 10", Value::Int(3));
  CHECK_VALUE("- -x", Value::Int(7));
  CHECK_VALUE("--x", Value::Int(7));
  CHECK_VALUE("-2 * 3", Value::Int(-6));
  CHECK_VALUE("2 - -3", Value::Int(5));
  CHECK_VALUE("-(x - y)", Value::Int(-4));
}

BOOST_AUTO_TEST_CASE(modulo_truncates_toward_zero) {
  CHECK_VALUE("7 % 3", Value::Int(1));
  CHECK_VALUE("-7 % 3", Value::Int(-1));
  CHECK_VALUE("7 % -3", Value::Int(1));
  CHECK_VALUE("x % y", Value::Int(1));
}

// ---- Every operator ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_operator_evaluates) {
  const char* const kTrue[] = {
      "!b",               // !
      "-x == 0 - 7",      // unary -
      "x * y == 21",      // *
      "x / y == 2",       // /
      "x % y == 1",       // %
      "x + y == 10",      // +
      "x - y == 4",       // -
      "y < x",            // <
      "y <= 3",           // <=
      "x > y",            // >
      "x >= 7",           // >=
      "x == 7",           // == on ints
      "x != y",           // != on ints
      "a == true",        // == on bools
      "a != b",           // != on bools
      "s == \"hi\"",      // == on strings
      "s != \"ho\"",      // != on strings
      "e == Green",       // == on enums
      "e != Red",         // != on enums
      "a && c",           // &&
      "b || c",           // ||
      "s + \"!\" == \"hi!\"",  // + joins strings
      "str(x) == \"7\"",  // str()
      "int(\"12\") == 12",  // int()
      "true",
      "!false",
  };
  for (const char* text : kTrue) CHECK_TRUE(text);
  const char* const kFalse[] = {"b", "y > x", "x <= 6", "x < 7", "y >= 4", "x == y", "a != c",
                                "s == \"ho\"", "e == Blue", "a && b", "b || b", "false"};
  for (const char* text : kFalse) CHECK_VALUE(text, Value::Bool(false));
}

BOOST_AUTO_TEST_CASE(result_types) {
  struct Case { const char* text; TypeKind kind; };
  const Case kCases[] = {{"1 + 2", TypeKind::kInt},         {"x < y", TypeKind::kBool},
                         {"!a", TypeKind::kBool},           {"-x", TypeKind::kInt},
                         {"s + s", TypeKind::kString},      {"str(1)", TypeKind::kString},
                         {"int(s)", TypeKind::kInt},        {"e", TypeKind::kEnum},
                         {"e == Red", TypeKind::kBool},     {"a || b", TypeKind::kBool},
                         {"\"q\"", TypeKind::kString},      {"(((x)))", TypeKind::kInt}};
  for (const Case& c : kCases) {
    auto compiled = Compile(c.text);
    BOOST_TEST_INFO("expression: " << c.text);
    BOOST_TEST_REQUIRE(compiled.ok());
    BOOST_TEST((compiled->type().kind == c.kind));
    BOOST_TEST(compiled->text() == c.text);
  }
}

// ---- Short-circuit ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(and_or_short_circuit) {
  CHECK_VALUE("false && 1 / 0 == 1", Value::Bool(false));
  CHECK_VALUE("true || 1 / 0 == 1", Value::Bool(true));
  CHECK_VALUE("b && x / 0 == 1", Value::Bool(false));
  CHECK_VALUE("a || x % 0 == 1", Value::Bool(true));
  CHECK_VALUE("x != 0 && 100 / x > 3", Value::Bool(true));
}

BOOST_AUTO_TEST_CASE(division_by_zero_fails_at_evaluation_where_it_depends_on_a_value) {
  CHECK_EVAL_FAILS("a && x / (y - 3) == 1", "division by zero");
  CHECK_EVAL_FAILS("x % (y - y)", "division by zero");
  // The error is at the operator that failed, not the expression's start.
  auto c = Compile("x + x % (y - 3)");
  BOOST_TEST_REQUIRE(c.ok());
  auto r = c->Evaluate(DefaultSlots());
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().place.column == kColumn + 6);
}

BOOST_AUTO_TEST_CASE(division_by_zero_of_constants_is_a_compile_error) {
  // Every evaluation would fail the same way: refused at load, at the '/'.
  CHECK_ALWAYS_FAILS("1 / 0", kColumn + 2, "division by zero");
  CHECK_ALWAYS_FAILS("true && 1 / 0 == 1", kColumn + 10, "division by zero");
  CHECK_ALWAYS_FAILS("false || 1 / 0 == 1", kColumn + 11, "division by zero");
  // A constant operand of a part that reads a value is computed alone.
  CHECK_ALWAYS_FAILS("a && 1 % 0 == 1", kColumn + 7, "division by zero");
  // What a short circuit skips is never computed, now or later.
  auto skipped = Compile("false && 1 / 0 == 1");
  BOOST_TEST_REQUIRE(skipped.ok());
  BOOST_TEST(skipped->constant().has_value());
}

// ---- Overflow ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(integer_overflow_is_detected) {
  CHECK_EVAL_FAILS("big + 1", "integer overflow");
  CHECK_EVAL_FAILS("-big - 2", "integer overflow");
  CHECK_EVAL_FAILS("big * 2", "integer overflow");
  CHECK_EVAL_FAILS("0 - big - 2", "integer overflow");
  CHECK_ALWAYS_FAILS("9223372036854775807 + 1", kColumn + 20, "integer overflow");
  CHECK_ALWAYS_FAILS("(-9223372036854775807 - 1) / -1", kColumn + 27, "integer overflow");
  CHECK_ALWAYS_FAILS("(-9223372036854775807 - 1) % -1", kColumn + 27, "integer overflow");
  CHECK_ALWAYS_FAILS("-(-9223372036854775807 - 1)", kColumn, "integer overflow");
  // The extremes themselves are fine.
  CHECK_VALUE("big", Value::Int(kMax));
  CHECK_VALUE("-big - 1", Value::Int(kMin));
  CHECK_VALUE("big - 1 + 1", Value::Int(kMax));
}

BOOST_AUTO_TEST_CASE(integer_literal_too_large_is_a_compile_error) {
  CHECK_COMPILE_ERROR("x + 9223372036854775808", kColumn + 4, "integer literal is too large");
  CHECK_VALUE("9223372036854775807", Value::Int(kMax));
}

// ---- str() and int() --------------------------------------------------------

BOOST_AUTO_TEST_CASE(int_accepts_a_sign_and_leading_zeros) {
  CHECK_TRUE(R"(int("+5") == 5)");
  CHECK_TRUE(R"(int("05") == 5)");
  CHECK_TRUE(R"(int("-12") == -12)");
  CHECK_TRUE(R"(int("0") == 0)");
  CHECK_TRUE(R"(int("9223372036854775807") == big)");
}

BOOST_AUTO_TEST_CASE(int_accepts_the_most_negative_64_bit_integer) {
  // -9223372036854775808 is a 64-bit integer; str() of it round-trips.
  CHECK_VALUE(R"(int("-9223372036854775808"))", Value::Int(kMin));
  CHECK_TRUE("int(str(-big - 1)) == -big - 1");
}

BOOST_AUTO_TEST_CASE(int_rejects_what_is_not_a_decimal_integer) {
  for (const char* text : {" 5", "5 ", "", "+", "-", "5x", "0x10", "1e3", "--5", "hi"}) {
    CHECK_INT_OF_FAILS(text, "not a decimal integer");
  }
  // The message quotes the text it could not read.
  CHECK_INT_OF_FAILS("5x", "\"5x\"");
  // Of a literal, it fails on every evaluation: refused at load.
  CHECK_ALWAYS_FAILS(R"(int("lots"))", kColumn, "not a decimal integer");
  CHECK_ALWAYS_FAILS(R"(x + int("5x"))", kColumn + 4, "\"5x\"");
}

BOOST_AUTO_TEST_CASE(int_rejects_numbers_outside_64_bits) {
  for (const char* text : {"99999999999999999999", "9223372036854775808", "-9223372036854775809"}) {
    CHECK_INT_OF_FAILS(text, "64-bit");
  }
  CHECK_ALWAYS_FAILS(R"(int("99999999999999999999"))", kColumn, "64-bit");
}

BOOST_AUTO_TEST_CASE(str_formats_decimal) {
  CHECK_TRUE(R"(str(x) + "!" == "7!")");
  CHECK_TRUE(R"(str(-5) == "-5")");
  CHECK_TRUE(R"(str(0) == "0")");
  CHECK_TRUE("int(str(x)) == x");
  CHECK_TRUE(R"("sm_" + str(device.cc / 10) + str(device.cc % 10) == "sm_90")");
}

// ---- Strings ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(string_concatenation_and_equality) {
  CHECK_VALUE(R"("a" + "b")", Value::String("ab"));
  CHECK_VALUE(R"(s + "" + s)", Value::String("hihi"));
  CHECK_TRUE(R"("a" + "b" == "ab")");
  CHECK_TRUE(R"("" == "")");
  CHECK_TRUE(R"("ab" != "a")");
  CHECK_TRUE(R"("A" != "a")");  // case-sensitive
  // Text is compared as text: "sm_100" and "sm_90" differ; "10" is not 10.
  CHECK_TRUE(R"("10" != "010")");
}

BOOST_AUTO_TEST_CASE(string_escapes) {
  CHECK_VALUE(R"("a\"b")", Value::String("a\"b"));
  CHECK_VALUE(R"("a\\b")", Value::String("a\\b"));
  CHECK_VALUE(R"("a\nb")", Value::String("a\nb"));
  CHECK_VALUE(R"("a\tb")", Value::String("a\tb"));
  CHECK_COMPILE_ERROR(R"(s == "a\qb")", kColumn + 7, "unknown escape");
}

BOOST_AUTO_TEST_CASE(unclosed_string_points_at_its_opening_quote) {
  CHECK_COMPILE_ERROR(R"(s == "abc)", kColumn + 5, "string literal is not closed");
  CHECK_COMPILE_ERROR(R"(s == "abc\)", kColumn + 5, "string literal is not closed");
}

BOOST_AUTO_TEST_CASE(strings_do_not_order_or_add_to_ints) {
  CHECK_COMPILE_ERROR(R"(s < "z")", kColumn + 2, "'<' needs int operands");
  CHECK_COMPILE_ERROR("s + x", kColumn + 2, "str()");
  CHECK_COMPILE_ERROR(R"("a" + 1)", kColumn + 4, "'+' joins two strings or adds two ints");
  CHECK_COMPILE_ERROR(R"(s - "a")", kColumn + 2, "'-' needs int operands");
  CHECK_COMPILE_ERROR(R"(s == 1)", kColumn + 2, "compares values of one type");
}

// ---- Enums ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(enum_members_resolve_from_the_other_side) {
  CHECK_TRUE("e == Green");
  CHECK_TRUE("Green == e");
  CHECK_TRUE("e != Blue");
  CHECK_TRUE("Red != e");
  CHECK_VALUE("Red == e", Value::Bool(false));
  CHECK_TRUE("f == Square && e == Green");
  CHECK_TRUE("(e == Green) == (f == Square)");
}

BOOST_AUTO_TEST_CASE(enum_member_of_the_expected_type) {
  const Type color = Color();
  auto blue = Compile("Blue", &color);
  BOOST_TEST_REQUIRE(blue.ok());
  BOOST_TEST(blue->constant().has_value());
  BOOST_TEST((*blue->constant() == Value::Enum(2)));
  BOOST_TEST(blue->reads().empty());
  BOOST_TEST((blue->type().members == color.members));
  auto same = Compile("e", &color);
  BOOST_TEST_REQUIRE(same.ok());
  BOOST_TEST(!same->constant().has_value());
}

BOOST_AUTO_TEST_CASE(unknown_enum_member_suggests_the_nearest) {
  const Type color = Color();
  CHECK_COMPILE_ERROR_T("Gren", &color, kColumn, "did you mean 'Green'?");
  CHECK_COMPILE_ERROR_T("Gren", &color, kColumn, "neither a name in scope nor a member of enum {Red, Green, Blue}");
  CHECK_COMPILE_ERROR("e == Gren", kColumn + 5, "did you mean 'Green'?");
  CHECK_COMPILE_ERROR("Gren == e", kColumn, "did you mean 'Green'?");
}

BOOST_AUTO_TEST_CASE(a_member_of_another_enum_is_not_a_member) {
  CHECK_COMPILE_ERROR("e == Circle", kColumn + 5, "'Circle' is neither a name in scope nor a member of enum {Red, Green, Blue}");
  CHECK_COMPILE_ERROR("Square == e", kColumn, "'Square' is neither");
}

BOOST_AUTO_TEST_CASE(enums_compare_only_with_the_same_enum) {
  CHECK_COMPILE_ERROR("e == f", kColumn + 2, "'==' compares values of one type, got enum {Red, Green, Blue} and enum {Circle, Square}");
  CHECK_COMPILE_ERROR(R"(e == "Green")", kColumn + 2, "compares values of one type");
  CHECK_COMPILE_ERROR("e != s", kColumn + 2, "'!=' compares values of one type");
  CHECK_COMPILE_ERROR("e == 1", kColumn + 2, "compares values of one type");
  CHECK_COMPILE_ERROR("e < Blue", kColumn + 2, "'<' needs int operands");
  CHECK_COMPILE_ERROR("e + 1", kColumn + 2, "'+' needs int operands");
  // A bare member with nothing to resolve it against is an unknown name.
  CHECK_COMPILE_ERROR("Red == Green", kColumn, "unknown name 'Red'");
  CHECK_COMPILE_ERROR("x == Red", kColumn + 5, "unknown name 'Red'");
}

// ---- Type errors, with columns ------------------------------------------------

BOOST_AUTO_TEST_CASE(type_errors_point_at_the_operator) {
  CHECK_COMPILE_ERROR("x + a", kColumn + 2, "'+' needs int operands, got int and bool");
  CHECK_COMPILE_ERROR("x * a", kColumn + 2, "'*' needs int operands");
  CHECK_COMPILE_ERROR("a / 2", kColumn + 2, "'/' needs int operands");
  CHECK_COMPILE_ERROR("a % 2", kColumn + 2, "'%' needs int operands");
  CHECK_COMPILE_ERROR("a && x", kColumn + 2, "'&&' needs bool operands, got bool and int");
  CHECK_COMPILE_ERROR("x || a", kColumn + 2, "'||' needs bool operands, got int and bool");
  CHECK_COMPILE_ERROR("x == a", kColumn + 2, "'==' compares values of one type, got int and bool");
  CHECK_COMPILE_ERROR("a <= b", kColumn + 2, "'<=' needs int operands");
  CHECK_COMPILE_ERROR("a > 1", kColumn + 2, "'>' needs int operands");
  CHECK_COMPILE_ERROR("1 >= a", kColumn + 2, "'>=' needs int operands");
  CHECK_COMPILE_ERROR("!x", kColumn, "'!' needs a bool, got int");
  CHECK_COMPILE_ERROR("-a", kColumn, "'-' needs an int, got bool");
  CHECK_COMPILE_ERROR("y + (x && a)", kColumn + 7, "'&&' needs bool operands");
  CHECK_COMPILE_ERROR("-s", kColumn, "'-' needs an int, got string");
}

BOOST_AUTO_TEST_CASE(every_error_in_one_expression_is_reported_left_to_right) {
  auto c = Compile("nope + nada");
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST_INFO(c.error().ToString());
  BOOST_TEST_REQUIRE(c.error().all().size() == 2u);
  BOOST_TEST(c.error().all()[0].location.column == kColumn);
  BOOST_TEST(c.error().all()[0].message.find("'nope'") != std::string::npos);
  BOOST_TEST(c.error().all()[1].location.column == kColumn + 7);
  BOOST_TEST(c.error().all()[1].message.find("'nada'") != std::string::npos);

  // An unknown name on the left and an error inside the right side: the
  // left one (column 10) comes first.
  auto d = Compile("Purple == (x + a)");
  BOOST_TEST_REQUIRE(!d.ok());
  BOOST_TEST_INFO(d.error().ToString());
  BOOST_TEST_REQUIRE(d.error().all().size() == 2u);
  BOOST_TEST(d.error().all()[0].location.column == kColumn);
  BOOST_TEST(d.error().all()[0].message.find("'Purple'") != std::string::npos);
  BOOST_TEST(d.error().all()[1].location.column == kColumn + 13);
}

BOOST_AUTO_TEST_CASE(unknown_name_suggests_the_nearest) {
  CHECK_COMPILE_ERROR("device.ccc > 1", kColumn, "unknown name 'device.ccc' (did you mean 'device.cc'?)");
  CHECK_COMPILE_ERROR("x > 1 && bb", kColumn + 9, "unknown name 'bb' (did you mean");
  CHECK_COMPILE_ERROR("device.cc > 1 && zzzzzzzz", kColumn + 17, "unknown name 'zzzzzzzz'");
}

// ---- Functions ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_function_suggests_the_nearest) {
  CHECK_COMPILE_ERROR("stir(x)", kColumn, "unknown function 'stir' (did you mean 'str'?)");
  CHECK_COMPILE_ERROR(R"(x + itn("3"))", kColumn + 4, "unknown function 'itn' (did you mean 'int'?)");
  CHECK_COMPILE_ERROR("len(s)", kColumn, "the functions are str(int), int(string), version(string), min, max and clamp");
  CHECK_COMPILE_ERROR("x(1)", kColumn, "unknown function 'x'");
}

BOOST_AUTO_TEST_CASE(wrong_argument_count) {
  CHECK_COMPILE_ERROR("str()", kColumn, "str() takes 1 argument, got 0");
  CHECK_COMPILE_ERROR("str(1, 2)", kColumn, "str() takes 1 argument, got 2");
  CHECK_COMPILE_ERROR(R"(x + int("1", "2", "3"))", kColumn + 4, "int() takes 1 argument, got 3");
}

BOOST_AUTO_TEST_CASE(wrong_argument_type_points_at_the_argument) {
  CHECK_COMPILE_ERROR("int(x)", kColumn + 4, "int() takes a string, got int");
  CHECK_COMPILE_ERROR("str(s)", kColumn + 4, "str() takes an int, got string");
  CHECK_COMPILE_ERROR("str(  a)", kColumn + 6, "str() takes an int, got bool");
}

BOOST_AUTO_TEST_CASE(unclosed_call) {
  CHECK_COMPILE_ERROR("str(x", kColumn + 5, "expected ')' to close the call of str()");
  CHECK_COMPILE_ERROR("str(x y)", kColumn + 6, "expected ')' to close the call of str(), found name 'y'");
}

// ---- Syntax errors, with columns ------------------------------------------------

BOOST_AUTO_TEST_CASE(syntax_errors_point_at_the_offending_character) {
  CHECK_COMPILE_ERROR("x = 1", kColumn + 2, "(comparison is '==')");
  CHECK_COMPILE_ERROR("a & b", kColumn + 2, "(logical and is '&&')");
  CHECK_COMPILE_ERROR("a | b", kColumn + 2, "(logical or is '||')");
  CHECK_COMPILE_ERROR("s == 'hi'", kColumn + 5, "(strings take double quotes)");
  CHECK_COMPILE_ERROR("x @ 1", kColumn + 2, "unexpected character '@'");
  CHECK_COMPILE_ERROR("x > 1.5", kColumn + 5, "unexpected '.' after a number");
  CHECK_COMPILE_ERROR("3x", kColumn + 1, "unexpected 'x' after a number");
  CHECK_COMPILE_ERROR("x y", kColumn + 2, "unexpected name 'y' after the expression");
  CHECK_COMPILE_ERROR("x)", kColumn + 1, "unexpected ')' after the expression");
  CHECK_COMPILE_ERROR("* 2", kColumn, "unexpected '*'");
  CHECK_COMPILE_ERROR("x + , 1", kColumn + 4, "unexpected ','");
  CHECK_COMPILE_ERROR("()", kColumn + 1, "unexpected ')'");
}

BOOST_AUTO_TEST_CASE(unclosed_parenthesis_points_at_the_end) {
  CHECK_COMPILE_ERROR("(device.cc > 75", kColumn + 15, "expected ')', found end of expression");
  CHECK_COMPILE_ERROR("((x + 1) * 2 > 3", kColumn + 16, "expected ')'");
}

BOOST_AUTO_TEST_CASE(trailing_operator_is_an_incomplete_expression) {
  CHECK_COMPILE_ERROR("device.cc >", kColumn + 11, "expression is incomplete");
  CHECK_COMPILE_ERROR("a &&", kColumn + 4, "expression is incomplete");
  CHECK_COMPILE_ERROR("x + 1 -", kColumn + 7, "expression is incomplete");
  CHECK_COMPILE_ERROR("!", kColumn + 1, "expression is incomplete");
}

BOOST_AUTO_TEST_CASE(comparisons_do_not_chain) {
  CHECK_COMPILE_ERROR("1 < 2 < 3", kColumn + 6, "comparisons do not chain");
  CHECK_COMPILE_ERROR("x == y != a", kColumn + 7, "comparisons do not chain");
  CHECK_COMPILE_ERROR("x > y == true", kColumn + 6, "comparisons do not chain");
  CHECK_TRUE("(1 < 2) == (2 < 3)");
  CHECK_TRUE("1 < 2 && 2 < 3");
}

BOOST_AUTO_TEST_CASE(empty_expression) {
  CHECK_COMPILE_ERROR("", kColumn, "expression is empty");
  CHECK_COMPILE_ERROR("   ", kColumn, "expression is empty");
}

BOOST_AUTO_TEST_CASE(unknown_column_stays_unknown) {
  auto c = Expression::Compile("x +", SourceLocation{"t.yaml", 4, 0}, Symbols(), nullptr);
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().all()[0].location.line == 4);
  BOOST_TEST(c.error().all()[0].location.column == 0);
}

// ---- reads() and constant() -----------------------------------------------------

BOOST_AUTO_TEST_CASE(reads_lists_each_slot_once_in_first_use_order) {
  auto c = Compile("y + x * y + x > 2 && (a || y == 3)");
  BOOST_TEST_REQUIRE(c.ok());
  const std::vector<int> want = {Slot("y"), Slot("x"), Slot("a")};
  BOOST_TEST(c->reads() == want, boost::test_tools::per_element());

  auto m = Compile("Green == e && str(int(s)) == s && f == Circle");
  BOOST_TEST_REQUIRE(m.ok());
  const std::vector<int> want_m = {Slot("e"), Slot("s"), Slot("f")};
  BOOST_TEST(m->reads() == want_m, boost::test_tools::per_element());

  auto none = Compile("1 + 2 == 3");
  BOOST_TEST_REQUIRE(none.ok());
  BOOST_TEST(none->reads().empty());
}

BOOST_AUTO_TEST_CASE(constant_folds_expressions_that_read_nothing) {
  struct Case { const char* text; Value want; };
  const Case kCases[] = {{"1 + 2 * 3", Value::Int(7)},
                         {"-(4 - 10) % 4", Value::Int(2)},
                         {R"("sm_" + str(9) + str(0))", Value::String("sm_90")},
                         {R"(int("+5") == 5)", Value::Bool(true)},
                         {"true && !false", Value::Bool(true)},
                         {"1 > 2 || 3 >= 3", Value::Bool(true)},
                         {"false", Value::Bool(false)}};
  for (const Case& c : kCases) {
    auto compiled = Compile(c.text);
    BOOST_TEST_INFO("expression: " << c.text);
    BOOST_TEST_REQUIRE(compiled.ok());
    BOOST_TEST_REQUIRE(compiled->constant().has_value());
    BOOST_TEST((*compiled->constant() == c.want));
  }
}

BOOST_AUTO_TEST_CASE(no_constant_for_expressions_that_read_slots) {
  for (const char* text : {"x + 1", "a || true", "b && false", "s + \"x\"", "e == Red", "x * 0 == 0"}) {
    auto compiled = Compile(text);
    BOOST_TEST_INFO("expression: " << text);
    BOOST_TEST_REQUIRE(compiled.ok());
    BOOST_TEST(!compiled->constant().has_value());
    BOOST_TEST(!compiled->reads().empty());
  }
  // Constant ones that fail to evaluate do not compile at all
  // (division_by_zero_of_constants_is_a_compile_error).
  for (const char* text : {"1 / 0", "9223372036854775807 * 2", R"(int("x"))"}) {
    BOOST_TEST_INFO("expression: " << text);
    BOOST_TEST(!Compile(text).ok());
  }
}

// ---- Strings an evaluation builds --------------------------------------------------

BOOST_AUTO_TEST_CASE(a_string_longer_than_the_limit_is_an_error_not_an_allocation) {
  // limits::kStringBytes (4096): "hi" doubled 11 times is 4096 bytes, once
  // more is 8192.
  std::string doubled = "s";
  for (int i = 0; i < 11; ++i) doubled = "(" + doubled + " + " + doubled + ")";
  std::vector<Value> slots = DefaultSlots();
  auto at_limit = Compile(doubled);
  BOOST_TEST_REQUIRE(at_limit.ok());
  auto v = at_limit->Evaluate(slots);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST(v->text.size() == 4096u);
  auto past = Compile(doubled + " + \"!\"");
  BOOST_TEST_REQUIRE(past.ok());
  auto r = past->Evaluate(slots);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("the limit is 4096") != std::string::npos, r.error().message);
  // Of literals alone it is refused when it compiles.
  CHECK_ALWAYS_FAILS("\"" + std::string(3000, 'a') + "\" + \"" + std::string(3000, 'b') + "\"", kColumn + 3003,
                     "the limit is 4096");
}

// ---- The evaluation budget -------------------------------------------------------

BOOST_AUTO_TEST_CASE(evaluation_spends_a_unit_a_node_and_stops_past_the_budget) {
  // x + y * 2: five nodes visited, five units; strings cost a unit more
  // per 64 bytes they copy.
  auto sum = Compile("x + y * 2");
  BOOST_TEST_REQUIRE(sum.ok());
  EvaluationBudget enough(5);
  auto v = sum->Evaluate(DefaultSlots(), &enough);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST(v->number == 13);
  BOOST_TEST(enough.units_spent() == 5u);
  BOOST_TEST(!enough.spent());
  // One unit short: it stops at the node that passed the limit (the
  // literal 2, the fifth visited), naming the limit.
  EvaluationBudget short_one(4);
  auto r = sum->Evaluate(DefaultSlots(), &short_one);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(short_one.spent());
  BOOST_TEST(r.error().place.column == kColumn + 8);
  BOOST_TEST(r.error().message == "stopped: the evaluation work passed the limit of 4 units (an expression node visited is a unit)");
  // A 128-byte string literal: its node and two units of copying.
  auto text = Compile("\"" + std::string(128, 'a') + "\"");
  BOOST_TEST_REQUIRE(text.ok());
  EvaluationBudget strings(1000);
  BOOST_TEST_REQUIRE(text->Evaluate(DefaultSlots(), &strings).ok());
  BOOST_TEST(strings.units_spent() == 3u);
}

// ---- Expected type --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(expected_type_is_checked) {
  const Type boolean = Type::Bool();
  const Type integer = Type::Int();
  const Type text = Type::String();
  const Type color = Color();
  CHECK_COMPILE_ERROR_T("x + 1", &boolean, kColumn, "expected bool, but 'x + 1' is int");
  CHECK_COMPILE_ERROR_T("a", &integer, kColumn, "expected int, but 'a' is bool");
  CHECK_COMPILE_ERROR_T("x", &text, kColumn, "expected string, but 'x' is int");
  CHECK_COMPILE_ERROR_T("\"Red\"", &color, kColumn, "expected enum {Red, Green, Blue}, but '\"Red\"' is string");
  CHECK_COMPILE_ERROR_T("f", &color, kColumn, "is enum {Circle, Square}");
  for (const char* ok_text : {"x > 1", "a", "e == Red", "true"}) {
    auto c = Compile(ok_text, &boolean);
    BOOST_TEST_INFO("expression: " << ok_text);
    BOOST_TEST_REQUIRE(c.ok());
    BOOST_TEST((c->type().kind == TypeKind::kBool));
  }
}

BOOST_AUTO_TEST_CASE(expected_int_range_is_the_result_type) {
  // An int expression fits an int knob with a range; the range is checked
  // when the value is known (by the loader or the evaluator), not here.
  const Type warps = Warps();
  auto c = Compile("x + 1", &warps);
  BOOST_TEST_REQUIRE(c.ok());
  BOOST_TEST((c->type().kind == TypeKind::kInt));
  BOOST_TEST(c->type().min == 1);
  BOOST_TEST(c->type().max == 32);
}

// ---- Hostile input --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fifty_nested_parentheses_work) {
  const std::string text = Repeat("(", 50) + "x" + Repeat(")", 50) + " == 7";
  CHECK_TRUE(text);
  CHECK_TRUE(Repeat("!", 50) + "a");
  CHECK_TRUE(Repeat("-", 50) + "x == 7");
  CHECK_TRUE(Repeat("int(str(", 25) + "x" + Repeat("))", 25) + " == 7");
}

BOOST_AUTO_TEST_CASE(two_hundred_nested_parentheses_fail_cleanly) {
  const std::string text = Repeat("(", 200) + "x" + Repeat(")", 200);
  auto c = Compile(text);
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST_INFO(c.error().ToString());
  BOOST_TEST(c.error().all()[0].message.find("nests deeper than") != std::string::npos);
  BOOST_TEST(c.error().all()[0].location.line == kLine);
  // The column lies inside the run of parentheses.
  BOOST_TEST(c.error().all()[0].location.column > kColumn);
  BOOST_TEST(c.error().all()[0].location.column < kColumn + 200);
  for (const std::string& deep : {Repeat("!", 200) + "a", Repeat("-", 200) + "x",
                                  Repeat("str(int(", 100) + "s" + Repeat("))", 100)}) {
    auto d = Compile(deep);
    BOOST_TEST_INFO("expression: " << deep.substr(0, 20) << "...");
    BOOST_TEST_REQUIRE(!d.ok());
    BOOST_TEST(d.error().all()[0].message.find("nests deeper than") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(evaluating_an_uncompiled_expression_fails_cleanly) {
  Expression e;
  auto v = e.Evaluate({});
  BOOST_TEST_REQUIRE(!v.ok());
  BOOST_TEST(v.error().message.find("never compiled") != std::string::npos);
}

// Last in the file: a crash here (stack overflow) ends the run, so every
// other test has reported by then.
BOOST_AUTO_TEST_CASE(long_flat_chains_compile_and_evaluate_without_exhausting_the_stack) {
  // 1 + 1 + ... + 1, 200000 terms (400 KB, under the 1 MiB policy file limit):
  // the parser builds it iteratively, but the tree is 200000 levels deep, so
  // a recursive compile or evaluate must not follow it without a bound.
  // Either outcome is fine: the sum, or a clean error.
  std::string text = "1";
  text += Repeat("+1", 199999);
  auto c = Compile(text);
  if (c.ok()) {
    auto v = c->Evaluate({});
    BOOST_TEST_REQUIRE(v.ok());
    BOOST_TEST(v->number == 200000);
  } else {
    BOOST_TEST_MESSAGE(c.error().ToString());
    BOOST_TEST(c.error().has_errors());
  }
}

}  // namespace
}  // namespace kpolicy
