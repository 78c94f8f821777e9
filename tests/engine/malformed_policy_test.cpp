// Malformed policies: every class of mistake a policy author (or a hostile
// file) can make must be refused with LoadError::kInvalid and a diagnostic
// at the exact FILE:LINE:COL of the mistake, saying what is wrong, never a
// crash, a hang or a silent default. Each test is a small YAML text and the
// one diagnostic it must produce.
#define BOOST_TEST_MODULE malformed_policy_test
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include <unistd.h>

#include "kpolicy/policy_loader.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

// Lines 1-3 of most examples below; the interesting part starts on line 4.
const std::string kHeader = "kpolicy: 1\nname: t\nversion: 1.0\n";

struct LoadResult {
  bool ok = false;
  LoadError::Kind kind = LoadError::kInvalid;
  Diagnostics diagnostics;
  double seconds = 0;
};

LoadResult LoadText(std::string_view text, const std::string& file = "bad.yaml") {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = LoadPolicyText(text, file);
  LoadResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.ok = loaded.ok();
  if (!r.ok) {
    r.kind = loaded.error().kind;
    r.diagnostics = loaded.error().diagnostics;
  }
  return r;
}

LoadResult LoadFile(const std::string& path) {
  auto loaded = LoadPolicyFile(path);
  LoadResult r;
  r.ok = loaded.ok();
  if (!r.ok) {
    r.kind = loaded.error().kind;
    r.diagnostics = loaded.error().diagnostics;
  }
  return r;
}

std::string Repeat(std::string_view piece, int n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

// Asserts that the result failed as invalid and that diagnostic `index` is
// an error at (line, column) of `file` whose message holds `phrase`. Every
// diagnostic is printed when anything does not match.
#define CHECK_DIAG_AT(result, index, want_line, want_column, phrase)                    \
  do {                                                                                  \
    const LoadResult& r_ = (result);                                                    \
    BOOST_TEST_INFO("diagnostics:\n" << r_.diagnostics.ToString());                     \
    BOOST_TEST_REQUIRE(!r_.ok);                                                         \
    BOOST_TEST((r_.kind == LoadError::kInvalid));                                       \
    BOOST_TEST_REQUIRE(r_.diagnostics.all().size() > static_cast<size_t>(index));       \
    const Diagnostic& d_ = r_.diagnostics.all()[index];                                 \
    BOOST_TEST((d_.severity == Severity::kError));                                      \
    BOOST_TEST(d_.location.line == (want_line));                                        \
    BOOST_TEST(d_.location.column == (want_column));                                    \
    BOOST_TEST(d_.message.find(phrase) != std::string::npos,                            \
               "message '" << d_.message << "' lacks '" << (phrase) << "'");            \
  } while (0)

// The one-line specification: loading `text` fails, first error at
// bad.yaml:LINE:COLUMN saying `phrase`.
#define CHECK_ERROR(text, want_line, want_column, phrase)                               \
  do {                                                                                  \
    const LoadResult lr_ = LoadText(text);                                              \
    CHECK_DIAG_AT(lr_, 0, want_line, want_column, phrase);                              \
    if (!lr_.diagnostics.empty()) BOOST_TEST(lr_.diagnostics.all()[0].location.file == "bad.yaml"); \
  } while (0)

// ---- Sanity: the shapes the tests below break are valid ----------------------

BOOST_AUTO_TEST_CASE(the_unbroken_examples_load) {
  const std::string good = kHeader + R"(facts:
  has_dp4a: device.cc >= 75
knobs:
  k:
    type: {int: [1, 32]}
    env:
      - var: K_VAR
        when: K_VAR == "2"
        value: 2
      - var: K_VAR
        value: 1
    rules:
      - id: r1
        when: device.cc >= 80
        value: 1
      - id: r2
        when: has_dp4a
        value: 4
    default: 3
  q4k:
    type: {enum: [Mwv, HwDp4a]}
    default: Mwv
  s:
    type: string
    default: '"sm_" + str(device.cc)'
)";
  const LoadResult r = LoadText(good, "good.yaml");
  BOOST_TEST(r.ok, "diagnostics:\n" << r.diagnostics.ToString());
}

// ---- YAML itself ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(yaml_syntax_error_map_value_in_plain_scalar) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n    default: 3: 4\n", 7, 15, "YAML");
}

BOOST_AUTO_TEST_CASE(yaml_syntax_error_unclosed_flow_mapping) {
  // The '{' opened on line 6 is never closed: the scanner finds the end of
  // the file (line 8) inside it.
  const LoadResult r = LoadText(kHeader + "knobs:\n  k:\n    type: {enum: [A, B]\n    default: A\n");
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST((r.kind == LoadError::kInvalid));
  BOOST_TEST_REQUIRE(!r.diagnostics.empty());
  BOOST_TEST(r.diagnostics.all()[0].message.find("YAML") != std::string::npos);
  BOOST_TEST(r.diagnostics.all()[0].location.line >= 6);
  BOOST_TEST(r.diagnostics.all()[0].location.column >= 1);
}

BOOST_AUTO_TEST_CASE(empty_file) {
  CHECK_ERROR("", 1, 1, "file is empty");
  CHECK_ERROR("# nothing but a comment\n", 1, 1, "file is empty");
}

BOOST_AUTO_TEST_CASE(top_level_is_not_a_mapping) {
  CHECK_ERROR("- kpolicy: 1\n- name: t\n", 1, 1, "a policy is a mapping, not a list");
  CHECK_ERROR("just some text\n", 1, 1, "a policy is a mapping, not a scalar 'just some text'");
}

// ---- Header keys ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_format_version) {
  CHECK_ERROR("name: t\nversion: 1.0\nknobs:\n  k: {type: int, default: 1}\n", 1, 1,
              "missing 'kpolicy: 1'");
}

BOOST_AUTO_TEST_CASE(unsupported_format_version) {
  CHECK_ERROR("kpolicy: 2\nname: t\nversion: 1.0\nknobs:\n  k: {type: int, default: 1}\n", 1, 10,
              "unsupported policy format 'kpolicy: 2'");
}

BOOST_AUTO_TEST_CASE(missing_name) {
  CHECK_ERROR("kpolicy: 1\nversion: 1.0\nknobs:\n  k: {type: int, default: 1}\n", 1, 1,
              "missing 'name' in the policy");
}

BOOST_AUTO_TEST_CASE(missing_version) {
  CHECK_ERROR("kpolicy: 1\nname: t\nknobs:\n  k: {type: int, default: 1}\n", 1, 1,
              "missing 'version' in the policy");
}

BOOST_AUTO_TEST_CASE(empty_name) {
  CHECK_ERROR("kpolicy: 1\nname: ''\nversion: 1.0\nknobs:\n  k: {type: int, default: 1}\n", 2, 7,
              "'name' is empty");
}

BOOST_AUTO_TEST_CASE(missing_knobs) {
  CHECK_ERROR(kHeader, 1, 1, "missing 'knobs'");
}

BOOST_AUTO_TEST_CASE(knobs_is_not_a_mapping) {
  CHECK_ERROR(kHeader + "knobs: [a, b]\n", 4, 8, "'knobs' maps knob names to their definitions, not a list");
}

// ---- Unknown and duplicate keys ---------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_top_level_key_suggests_the_nearest) {
  CHECK_ERROR(kHeader + "knbos:\n  k: {type: int, default: 1}\n", 4, 1,
              "unknown key 'knbos' in the policy (did you mean 'knobs'?)");
}

BOOST_AUTO_TEST_CASE(unknown_knob_key_suggests_the_nearest) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n    defualt: 3\n", 7, 5,
              "unknown key 'defualt' in knob 'k' (did you mean 'default'?)");
}

BOOST_AUTO_TEST_CASE(unknown_rule_key_suggests_the_nearest) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        wen: device.cc > 80
        value: 1
    default: 3
)", 9, 9, "unknown key 'wen' in a rule of knob 'k' (did you mean 'when'?)");
}

BOOST_AUTO_TEST_CASE(unknown_env_key_suggests_the_nearest) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    env:
      - var: K_VAR
        vaule: 1
    default: 3
)", 9, 9, "unknown key 'vaule' in an env override of knob 'k' (did you mean 'value'?)");
}

BOOST_AUTO_TEST_CASE(duplicate_top_level_key) {
  CHECK_ERROR("kpolicy: 1\nname: t\nversion: 1.0\nname: u\nknobs:\n  k: {type: int, default: 1}\n",
              4, 1, "duplicate key 'name' in the policy (first at line 2)");
}

BOOST_AUTO_TEST_CASE(duplicate_knob_key) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n    type: bool\n    default: 3\n", 7, 5,
              "duplicate key 'type' in knob 'k' (first at line 6)");
}

BOOST_AUTO_TEST_CASE(duplicate_knob) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    default: 1
  k:
    type: int
    default: 2
)", 8, 3, "duplicate knob 'k' (first at line 5)");
}

BOOST_AUTO_TEST_CASE(duplicate_rule_id) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        when: device.cc > 80
        value: 1
      - id: r
        when: device.cc > 70
        value: 2
    default: 3
)", 11, 9, "duplicate rule id 'r' in knob 'k' (first at line 8)");
}

// ---- Names ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(knob_name_is_not_an_identifier) {
  CHECK_ERROR(kHeader + "knobs:\n  my-knob:\n    type: int\n    default: 1\n", 5, 3,
              "knob name 'my-knob' is not a name");
}

BOOST_AUTO_TEST_CASE(knob_named_like_a_fact) {
  CHECK_ERROR(kHeader + "facts:\n  k: device.cc > 1\nknobs:\n  k:\n    type: bool\n    default: true\n",
              7, 3, "knob 'k' has the name of a fact");
}

BOOST_AUTO_TEST_CASE(invalid_env_var_name) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    env:
      - var: MY-VAR
        value: 1
    default: 3
)", 8, 14, "'MY-VAR' is not an environment variable name");
}

// ---- Types -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_type_suggests_the_nearest) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: boool\n    default: true\n", 6, 11,
              "unknown type 'boool' for knob 'k' (did you mean 'bool'?)");
}

BOOST_AUTO_TEST_CASE(missing_type) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    default: 3\n", 5, 3, "knob 'k' has no 'type'");
}

BOOST_AUTO_TEST_CASE(enum_without_members) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {enum: []}\n    default: A\n", 6, 18,
              "an enum lists at least one member");
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: enum\n    default: A\n", 6, 11,
              "an enum lists its members");
}

BOOST_AUTO_TEST_CASE(duplicate_enum_member) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {enum: [A, B, A]}\n    default: A\n", 6, 25,
              "enum member 'A' is listed twice");
}

BOOST_AUTO_TEST_CASE(empty_int_range) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {int: [5, 1]}\n    default: 3\n", 6, 17,
              "int range [5, 1] is empty: MIN is above MAX");
}

BOOST_AUTO_TEST_CASE(int_range_bound_is_not_an_integer) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {int: [1, x]}\n    default: 3\n", 6, 21,
              "int range bound 'x' is not an integer");
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {int: [1.5, 3]}\n    default: 3\n", 6, 18,
              "int range bound '1.5' is not an integer");
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {int: [1]}\n    default: 3\n", 6, 17,
              "an int range is [MIN, MAX]");
}

// ---- Names and types inside expressions --------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_enum_member_in_a_value_suggests_the_nearest) {
  CHECK_ERROR(kHeader + R"(knobs:
  q4k:
    type: {enum: [Mwv, HwDp4a]}
    rules:
      - id: dp4a
        when: device.cc >= 75
        value: HwDp4
    default: Mwv
)", 10, 16, "'HwDp4' is neither a name in scope nor a member of enum {Mwv, HwDp4a} (did you mean 'HwDp4a'?)");
}

BOOST_AUTO_TEST_CASE(unknown_device_fact_in_when_suggests_the_nearest) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        when: device.ccc >= 75
        value: 1
    default: 3
)", 9, 15, "unknown name 'device.ccc' (did you mean 'device.cc'?)");
}

BOOST_AUTO_TEST_CASE(unknown_fact_in_when_suggests_the_nearest) {
  CHECK_ERROR(kHeader + R"(facts:
  has_dp4a: device.cc >= 75
knobs:
  k:
    type: bool
    rules:
      - id: r
        when: has_dp4
        value: true
    default: false
)", 11, 15, "unknown name 'has_dp4' (did you mean 'has_dp4a'?)");
}

BOOST_AUTO_TEST_CASE(when_must_be_bool) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        when: device.cc
        value: 1
    default: 3
)", 9, 15, "expected bool, but 'device.cc' is int");
}

BOOST_AUTO_TEST_CASE(value_must_have_the_knob_type) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: bool\n    default: 3\n", 7, 14,
              "expected bool, but '3' is int");
}

BOOST_AUTO_TEST_CASE(string_plus_int) {
  // The quoted scalar's text starts one column after its quote (col 14).
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: string\n    default: '\"a\" + 1'\n", 7, 19,
              "'+' joins two strings or adds two ints");
}

// ---- Expression syntax: the column is that of the character inside the expression --------

std::string RuleWhen(const std::string& when) {
  // `when` is on line 9, its value at column 15.
  return kHeader + "knobs:\n  k:\n    type: int\n    rules:\n      - id: r\n        when: " + when +
         "\n        value: 1\n    default: 3\n";
}

BOOST_AUTO_TEST_CASE(unclosed_parenthesis) {
  CHECK_ERROR(RuleWhen("(device.cc > 75"), 9, 30, "expected ')', found end of expression");
}

BOOST_AUTO_TEST_CASE(single_equals) {
  CHECK_ERROR(RuleWhen("device.cc = 75"), 9, 25, "(comparison is '==')");
}

BOOST_AUTO_TEST_CASE(single_equals_in_quoted_scalars) {
  CHECK_ERROR(RuleWhen("\"device.cc = 75\""), 9, 26, "(comparison is '==')");
  CHECK_ERROR(RuleWhen("'device.cc = 75'"), 9, 26, "(comparison is '==')");
}

BOOST_AUTO_TEST_CASE(single_quoted_string_literal) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: string\n    default: str(1) + 'y'\n", 7, 23,
              "(strings take double quotes)");
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: string\n    default: \"'sm_90'\"\n", 7, 15,
              "(strings take double quotes)");
}

BOOST_AUTO_TEST_CASE(chained_comparison) {
  CHECK_ERROR(RuleWhen("1 < 2 < 3"), 9, 21, "comparisons do not chain");
}

BOOST_AUTO_TEST_CASE(trailing_operator) {
  CHECK_ERROR(RuleWhen("device.cc >"), 9, 26, "expression is incomplete");
  CHECK_ERROR(RuleWhen("device.cc > 75 &&"), 9, 32, "expression is incomplete");
}

BOOST_AUTO_TEST_CASE(error_on_the_second_line_of_a_multi_line_expression) {
  // A plain scalar may continue on the next line; the error is in the
  // part on line 10 (`has_dp4`, column 11), not on line 9.
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: bool
    rules:
      - id: r
        when: device.cc >= 75 &&
          has_dp4
        value: true
    default: false
)", 10, 11, "unknown name 'has_dp4'");
}

BOOST_AUTO_TEST_CASE(error_inside_a_folded_block_scalar) {
  // `>-` puts the expression on the lines below it: the '+' is at 8:17.
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: string
    default: >-
      device.cc +
      "x"
)", 8, 17, "'+' joins two strings or adds two ints");
}

BOOST_AUTO_TEST_CASE(error_after_an_escape_in_a_double_quoted_scalar) {
  // Source: default: "\"sm_\" + 1"; the text is "sm_" + 1; the '+' is at
  // column 23 of the file (each \" is two characters there).
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: string\n    default: \"\\\"sm_\\\" + 1\"\n", 7, 23,
              "'+' joins two strings or adds two ints");
}

// ---- Rules and overrides that can never fire ------------------------------------------------

BOOST_AUTO_TEST_CASE(rule_after_an_always_true_rule) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: always
        when: true
        value: 1
      - id: never
        when: device.cc > 80
        value: 2
    default: 3
)", 11, 9, "rule 'never' can never fire: rule 'always' (line 8) always matches before it");
}

BOOST_AUTO_TEST_CASE(rule_whose_condition_is_always_false) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        when: 1 > 2
        value: 1
    default: 3
)", 8, 9, "rule 'r' can never fire: its condition is always false");
}

BOOST_AUTO_TEST_CASE(rule_with_the_same_condition_as_an_earlier_one) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r1
        when: device.cc >= 80
        value: 1
      - id: r2
        when: device.cc>=80
        value: 2
    default: 3
)", 11, 9, "rule 'r2' can never fire: rule 'r1' (line 8) has the same condition");
}

BOOST_AUTO_TEST_CASE(env_override_after_an_unconditional_one_of_the_same_variable) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    env:
      - var: K_VAR
        value: 1
      - var: K_VAR
        when: K_VAR == "2"
        value: 2
    default: 3
)", 10, 9, "this override of K_VAR can never fire: the one at line 8 always applies when it is set");
}

// ---- Values outside a knob's range -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(default_outside_the_int_range) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: {int: [1, 32]}\n    default: 40\n", 7, 14,
              "default 40 is outside knob 'k''s range int 1..32");
}

BOOST_AUTO_TEST_CASE(constant_rule_value_outside_the_int_range) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: {int: [1, 32]}
    rules:
      - id: r
        when: device.cc > 80
        value: 0
    default: 3
)", 10, 16, "rule 'r' value 0 is outside knob 'k''s range int 1..32");
}

BOOST_AUTO_TEST_CASE(constant_override_value_outside_the_int_range) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: {int: [1, 32]}
    env:
      - var: K_VAR
        value: 33
    default: 3
)", 9, 16, "override value 33 is outside knob 'k''s range int 1..32");
}

// ---- Dependencies ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dependency_cycle_between_knobs) {
  CHECK_ERROR(kHeader + R"(knobs:
  a:
    type: int
    default: b
  b:
    type: int
    default: a
)", 5, 3, "dependency cycle: a -> b -> a");
}

BOOST_AUTO_TEST_CASE(dependency_cycle_between_facts) {
  // Like knobs, the message names the whole cycle, so the author can see
  // which facts to untangle.
  CHECK_ERROR(kHeader + R"(facts:
  f1: f2
  f2: f1
knobs:
  k:
    type: bool
    default: f1
)", 5, 3, "f1 -> f2 -> f1");
}

BOOST_AUTO_TEST_CASE(dependency_cycle_between_a_fact_and_a_knob) {
  CHECK_ERROR(kHeader + R"(facts:
  big: k > 4
knobs:
  k:
    type: int
    rules:
      - id: r
        when: big
        value: 1
    default: 8
)", 5, 3, "dependency cycle: big -> k -> big");
}

BOOST_AUTO_TEST_CASE(knob_reading_itself) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n    default: k + 1\n", 5, 3,
              "knob 'k' reads its own value");
}

BOOST_AUTO_TEST_CASE(missing_default) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n", 5, 3, "knob 'k' has no 'default'");
}

// ---- Overlay keys in a policy that is not an overlay -------------------------------------------

BOOST_AUTO_TEST_CASE(before_in_a_policy_that_extends_nothing) {
  CHECK_ERROR(kHeader + R"(knobs:
  k:
    type: int
    rules:
      - id: r
        when: device.cc > 80
        value: 1
        before: other
    default: 3
)", 8, 9, "'before'/'after' apply only in a policy that extends another");
}

BOOST_AUTO_TEST_CASE(remove_rules_in_a_policy_that_extends_nothing) {
  CHECK_ERROR(kHeader + "knobs:\n  k:\n    type: int\n    default: 3\n    remove_rules: [r]\n", 8, 20,
              "'remove_rules' applies only in a policy that extends another");
}

// ---- Several errors in one file ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_error_is_reported_in_file_order) {
  const LoadResult r = LoadText(kHeader + R"(knobs:
  a:
    type: int
    default: device.ccc
  b:
    type: bool
    default: 3
  c:
    type: {enum: [X, Y]}
    default: Z
  d:
    type: int
)");
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(r.diagnostics.error_count() >= 3);
  CHECK_DIAG_AT(r, 0, 7, 14, "unknown name 'device.ccc'");
  CHECK_DIAG_AT(r, 1, 10, 14, "expected bool, but '3' is int");
  CHECK_DIAG_AT(r, 2, 13, 14, "'Z' is neither a name in scope nor a member");
  CHECK_DIAG_AT(r, 3, 14, 3, "knob 'd' has no 'default'");
  BOOST_TEST(r.diagnostics.error_count() == 4);
}

BOOST_AUTO_TEST_CASE(key_errors_are_reported_in_file_order) {
  // An unknown top-level key after the knobs comes after the knobs' errors.
  const LoadResult r = LoadText(kHeader + R"(knobs:
  a:
    type: int
    defualt: 1
  b:
    tpye: int
    default: 1
descripton: x
)");
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(r.diagnostics.error_count() >= 3);
  CHECK_DIAG_AT(r, 0, 7, 5, "unknown key 'defualt'");
  CHECK_DIAG_AT(r, 1, 9, 5, "unknown key 'tpye'");
  CHECK_DIAG_AT(r, 2, 11, 1, "unknown key 'descripton'");
  for (size_t i = 1; i < r.diagnostics.all().size(); ++i) {
    BOOST_TEST(r.diagnostics.all()[i - 1].location.line <= r.diagnostics.all()[i].location.line);
  }
}

BOOST_AUTO_TEST_CASE(at_most_max_errors_are_reported) {
  // LoadLimits::max_errors (50): "stop reporting after this many", for
  // key errors and for expression errors alike.
  std::string keys = kHeader + "knobs:\n";
  std::string exprs = kHeader + "knobs:\n";
  for (int i = 0; i < 80; ++i) {
    keys += "  k" + std::to_string(i) + ":\n    type: int\n    defualt: 1\n    default: 1\n";
    exprs += "  k" + std::to_string(i) + ":\n    type: int\n    default: nope\n";
  }
  const LoadResult k = LoadText(keys);
  BOOST_TEST_REQUIRE(!k.ok);
  BOOST_TEST(k.diagnostics.error_count() <= 50);
  BOOST_TEST(k.diagnostics.error_count() >= 10);
  const LoadResult e = LoadText(exprs);
  BOOST_TEST_REQUIRE(!e.ok);
  BOOST_TEST(e.diagnostics.error_count() <= 50);
  BOOST_TEST(e.diagnostics.error_count() >= 10);
}

// ---- Hostile files: each has its own error, none crashes or hangs ---------------------------------

BOOST_AUTO_TEST_CASE(file_larger_than_one_mib) {
  const std::string text = kHeader + "description: " + std::string((1 << 20), 'x') + "\n";
  const LoadResult r = LoadText(text);
  CHECK_DIAG_AT(r, 0, 1, 1, "the limit is 1048576");
  BOOST_TEST(r.diagnostics.all()[0].message.find(std::to_string(text.size()) + " bytes") !=
             std::string::npos);
  BOOST_TEST(r.seconds < 1.0);
}

BOOST_AUTO_TEST_CASE(deeply_nested_flow_sequences) {
  // 5000 levels of [[[[...]]]]: refused at the 17th '[' (line 4, column 24)
  // before the YAML parser can recurse.
  const LoadResult r = LoadText(kHeader + "knobs: " + Repeat("[", 5000) + Repeat("]", 5000) + "\n");
  CHECK_DIAG_AT(r, 0, 4, 24, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < 1.0);
  const LoadResult maps = LoadText(kHeader + "knobs: " + Repeat("{a: ", 5000) + "1" + Repeat("}", 5000) + "\n");
  CHECK_DIAG_AT(maps, 0, 4, 72, "nesting deeper than 16 levels");  // "{a: " is 4 columns a level
}

BOOST_AUTO_TEST_CASE(deeply_nested_flow_sequences_after_an_apostrophe) {
  // An apostrophe inside a plain scalar ("it's") opens no quoted string, so
  // the nesting after it on the same line still counts: the 17th '[' is at
  // column 30.
  const LoadResult r =
      LoadText(kHeader + "knobs: [it's, " + Repeat("[", 5000) + Repeat("]", 5000) + "]\n");
  CHECK_DIAG_AT(r, 0, 4, 30, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < 1.0);
}

BOOST_AUTO_TEST_CASE(deep_block_nesting) {
  // 40 levels of indented mappings under knobs. The root is level 1 and
  // knobs' mapping level 2, so the first node at level 17 is the key k14
  // (line 19, column 31).
  std::string text = kHeader + "knobs:\n";
  for (int i = 0; i < 40; ++i) {
    text += std::string(2 * (i + 1), ' ') + "k" + std::to_string(i) + ":" + (i == 39 ? " 1" : "") + "\n";
  }
  const LoadResult r = LoadText(text);
  CHECK_DIAG_AT(r, 0, 19, 31, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < 1.0);
}

BOOST_AUTO_TEST_CASE(deep_compact_block_sequences) {
  // "- - - - x": block sequences nest two characters per level on one line,
  // without brackets; 5000 levels is 10 KB. The 17th level starts at
  // column 33.
  const LoadResult r = LoadText(Repeat("- ", 5000) + "x\n");
  CHECK_DIAG_AT(r, 0, 1, 33, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < 1.0);
}

BOOST_AUTO_TEST_CASE(billion_laughs) {
  // Nine levels of anchors, each referencing the previous one ten times:
  // 10^9 nodes if expanded. Refused fast. The expansion first exceeds the
  // 100000-node limit in the value of `e` (line 8, where its anchor is).
  std::string text = kHeader + "a: &a [" + Repeat("\"lol\", ", 9) + "\"lol\"]\n";
  const std::string names = "abcdefghi";
  for (size_t i = 1; i < names.size(); ++i) {
    const std::string alias = std::string("*") + names[i - 1];
    text += std::string(1, names[i]) + ": &" + names[i] + " [" + Repeat(alias + ", ", 9) + alias + "]\n";
  }
  text += "knobs:\n  k: {type: int, default: 1}\n";
  const LoadResult r = LoadText(text);
  CHECK_DIAG_AT(r, 0, 8, 4, "alias expansion");
  BOOST_TEST(r.seconds < 1.0);
}

// ---- Files: extends, unreadable paths ------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("kpolicy_malformed_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

BOOST_AUTO_TEST_CASE(extends_a_missing_file) {
  TempDir dir;
  const LoadResult r = LoadText(kHeader + "extends: missing_base.yaml\n", dir.Path("bad.yaml"));
  CHECK_DIAG_AT(r, 0, 4, 10, "extends: cannot read");
  BOOST_TEST(r.diagnostics.all()[0].message.find("missing_base.yaml") != std::string::npos);
  BOOST_TEST(r.diagnostics.all()[0].location.file == dir.Path("bad.yaml"));
}

BOOST_AUTO_TEST_CASE(extends_cycle) {
  TempDir dir;
  const std::string a = dir.Write("a.yaml", "kpolicy: 1\nname: a\nversion: 1.0\nextends: b.yaml\n");
  const std::string b = dir.Write("b.yaml", "kpolicy: 1\nname: b\nversion: 1.0\nextends: a.yaml\n");
  const LoadResult r = LoadFile(a);
  CHECK_DIAG_AT(r, 0, 4, 10, "a cycle");
  BOOST_TEST(r.diagnostics.all()[0].location.file == b);
  BOOST_TEST(r.diagnostics.all()[0].message.find("extends: 'a.yaml' leads back to") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(extends_itself) {
  TempDir dir;
  const std::string a = dir.Write("a.yaml", "kpolicy: 1\nname: a\nversion: 1.0\nextends: a.yaml\n");
  const LoadResult r = LoadFile(a);
  CHECK_DIAG_AT(r, 0, 4, 10, "a cycle");
  BOOST_TEST(r.diagnostics.all()[0].location.file == a);
}

BOOST_AUTO_TEST_CASE(extends_chain_too_long) {
  TempDir dir;
  // p0 extends p1 ... p10 extends builtin:default: 11 links, limit 8.
  auto file_name = [](int i) { return std::string("p").append(std::to_string(i)).append(".yaml"); };
  for (int i = 0; i <= 10; ++i) {
    const std::string base = i == 10 ? std::string("builtin:default") : file_name(i + 1);
    std::string text = "kpolicy: 1\nname: p";
    text.append(std::to_string(i)).append("\nversion: 1.0\nextends: ").append(base).append("\n");
    dir.Write(file_name(i), text);
  }
  const LoadResult r = LoadFile(dir.Path("p0.yaml"));
  CHECK_DIAG_AT(r, 0, 4, 10, "chain longer than 8 files");
}

BOOST_AUTO_TEST_CASE(missing_file_is_unreadable) {
  TempDir dir;
  const std::string path = dir.Path("no_such_policy.yaml");
  const LoadResult r = LoadFile(path);
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST((r.kind == LoadError::kUnreadable));
  BOOST_TEST_REQUIRE(!r.diagnostics.empty());
  BOOST_TEST(r.diagnostics.all()[0].location.file == path);
  BOOST_TEST(r.diagnostics.all()[0].message.find("cannot open") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(directory_is_unreadable) {
  TempDir dir;
  const std::string path = dir.Path("");
  const LoadResult r = LoadFile(path);
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST((r.kind == LoadError::kUnreadable));
  BOOST_TEST_REQUIRE(!r.diagnostics.empty());
  BOOST_TEST(r.diagnostics.all()[0].message.find("is a directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(oversized_file_reports_its_real_size) {
  // The reader stops one byte past the limit; the message must not then
  // claim the file is limit+1 bytes long.
  TempDir dir;
  const std::string path =
      dir.Write("big.yaml", kHeader + "description: " + std::string(2 << 20, 'x') + "\n");
  const LoadResult r = LoadFile(path);
  CHECK_DIAG_AT(r, 0, 1, 1, "the limit is 1048576");
  BOOST_TEST(r.diagnostics.all()[0].message.find("1048577") == std::string::npos);
}

// Last in the file: a crash here (stack overflow) ends the run, so every
// other test has reported by then.
BOOST_AUTO_TEST_CASE(very_long_flat_expression_does_not_crash) {
  // default: 1+1+...+1, 200000 terms in a 400 KB file (under the 1 MiB
  // limit). The parser loops, but the tree is 200000 levels deep: loading
  // must give either the policy or an error, never exhaust the stack.
  std::string text = kHeader + "knobs:\n  k:\n    type: int\n    default: 1";
  text += Repeat("+1", 199999);
  text += "\n";
  const LoadResult r = LoadText(text);
  if (!r.ok) {
    BOOST_TEST_MESSAGE(r.diagnostics.ToString());
    BOOST_TEST((r.kind == LoadError::kInvalid));
    BOOST_TEST(r.diagnostics.has_errors());
  }
  BOOST_TEST(r.seconds < 1.0);
}

}  // namespace
}  // namespace kpolicy
