// Malformed policies: every class of mistake a policy author (or a hostile
// file) can make must be refused with an Error of code kInvalidInput and a diagnostic
// at the exact FILE:LINE:COL of the mistake, saying what is wrong, never a
// crash, a hang or a silent default. The small cases are data, in
// data/malformed_policies.yaml: each a policy text and the diagnostics it
// must produce, run as a test of its own. Cases that are generated (huge or
// deeply nested files), that need files on disk (extends, unreadable paths)
// or that bound a time stay here as code.
#define BOOST_TEST_MODULE malformed_policy_test
#include <boost/test/unit_test.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "kpolicy/limits.h"
#include "time_budget.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

// Lines 1-3 of most examples below; the interesting part starts on line 4.
const std::string kHeader = "kpolicy: 1\nname: t\nversion: 1.0\n";

struct LoadResult {
  bool ok = false;
  ErrorCode code = ErrorCode::kInvalidInput;
  Diagnostics diagnostics;  // the error's findings
  double seconds = 0;
};

LoadResult ToResult(const Expected<Policy>& loaded) {
  LoadResult r;
  r.ok = loaded.ok();
  if (r.ok) return r;
  r.code = loaded.error().code;
  for (const Diagnostic& d : loaded.error().findings) {
    switch (d.severity) {
      case Severity::kError: r.diagnostics.Error(d.location, d.message); break;
      case Severity::kWarning: r.diagnostics.Warning(d.location, d.message); break;
      case Severity::kNote: r.diagnostics.Note(d.location, d.message); break;
    }
  }
  return r;
}

LoadResult LoadText(std::string_view text, const std::string& file = "bad.yaml") {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = LoadPolicyText(text, file);
  const auto stop = std::chrono::steady_clock::now();
  LoadResult r = ToResult(loaded);
  r.seconds = std::chrono::duration<double>(stop - start).count();
  return r;
}

LoadResult LoadFile(const std::string& path) { return ToResult(LoadPolicyFile(path)); }

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
    BOOST_TEST((r_.code == ErrorCode::kInvalidInput));                                       \
    BOOST_TEST_REQUIRE(r_.diagnostics.all().size() > static_cast<size_t>(index));       \
    const Diagnostic& d_ = r_.diagnostics.all()[index];                                 \
    BOOST_TEST((d_.severity == Severity::kError));                                      \
    BOOST_TEST(d_.location.line == (want_line));                                        \
    BOOST_TEST(d_.location.column == (want_column));                                    \
    BOOST_TEST(d_.message.find(phrase) != std::string::npos,                            \
               "message '" << d_.message << "' lacks '" << (phrase) << "'");            \
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

// ---- YAML syntax: where the error lies is yaml-cpp's to say ------------------

BOOST_AUTO_TEST_CASE(yaml_syntax_error_unclosed_flow_mapping) {
  // The '{' opened on line 6 is never closed: the scanner finds the end of
  // the file (line 8) inside it.
  const LoadResult r = LoadText(kHeader + "knobs:\n  k:\n    type: {enum: [A, B]\n    default: A\n");
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST((r.code == ErrorCode::kInvalidInput));
  BOOST_TEST_REQUIRE(!r.diagnostics.empty());
  BOOST_TEST(r.diagnostics.all()[0].message.find("YAML") != std::string::npos);
  BOOST_TEST(r.diagnostics.all()[0].location.line >= 6);
  BOOST_TEST(r.diagnostics.all()[0].location.column >= 1);
}

// ---- The cases in data/malformed_policies.yaml -----------------------------------

struct ExpectedError {
  int line = 0;
  int column = 0;
  std::string phrase;
};

struct MalformedCase {
  std::string name;
  std::string policy;
  std::vector<ExpectedError> errors;  // the first diagnostics, in order
  std::optional<size_t> error_count;  // how many errors in all, when the case says
};

// Boost.Test prints the sample of a failing data-driven case: its name.
std::ostream& operator<<(std::ostream& out, const MalformedCase& c) { return out << c.name; }

const std::string kCaseFile = KPOLICY_SOURCE_DIR "/tests/engine/data/malformed_policies.yaml";

ExpectedError ReadExpectedError(const YAML::Node& node) {
  return {node["line"].as<int>(), node["column"].as<int>(), node["error"].as<std::string>()};
}

// The cases, or the reason they could not be read (which
// the_case_file_reads reports; the data-driven test then has no samples).
struct CaseFile {
  std::vector<MalformedCase> cases;
  std::string error;
};

const CaseFile& Cases() {
  static const CaseFile file = [] {
    CaseFile out;
    try {
      for (const auto& node : YAML::LoadFile(kCaseFile)) {
        MalformedCase c;
        c.name = node["name"].as<std::string>();
        c.policy = node["policy"].as<std::string>();
        if (node["errors"]) {
          for (const auto& e : node["errors"]) c.errors.push_back(ReadExpectedError(e));
        } else {
          c.errors.push_back(ReadExpectedError(node));
        }
        if (node["error_count"]) c.error_count = node["error_count"].as<size_t>();
        out.cases.push_back(std::move(c));
      }
    } catch (const YAML::Exception& e) {
      out.error = kCaseFile + ": " + e.what();
    }
    return out;
  }();
  return file;
}

BOOST_AUTO_TEST_CASE(the_case_file_reads) {
  BOOST_TEST(Cases().error.empty(), Cases().error);
  // 66 cases moved here from code when the test became table-driven; fewer
  // means one was lost.
  BOOST_TEST(Cases().cases.size() >= 66u);
  std::set<std::string> names;
  for (const MalformedCase& c : Cases().cases) {
    BOOST_TEST(names.insert(c.name).second, "case name '" << c.name << "' is used twice");
  }
}

BOOST_DATA_TEST_CASE(malformed_policy_is_refused_at_its_mistake,
                     boost::unit_test::data::make(Cases().cases), c) {
  // A failure names the case: Boost.Test prints the sample ("c = NAME").
  const LoadResult r = LoadText(c.policy);
  for (size_t i = 0; i < c.errors.size(); ++i) {
    CHECK_DIAG_AT(r, i, c.errors[i].line, c.errors[i].column, c.errors[i].phrase);
  }
  if (c.error_count) BOOST_TEST(static_cast<size_t>(r.diagnostics.error_count()) == *c.error_count);
  const std::vector<Diagnostic>& all = r.diagnostics.all();
  for (size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST(all[i].location.file == "bad.yaml");
    // One file: its diagnostics come in the order of their lines.
    if (i > 0) BOOST_TEST(all[i - 1].location.line <= all[i].location.line);
  }
}

// ---- Many errors in one file ------------------------------------------------------

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
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
}

BOOST_AUTO_TEST_CASE(deeply_nested_flow_sequences) {
  // 4000 levels of [[[[...]]]] (one line within the 8 KiB line limit):
  // refused at the 17th '[' (line 4, column 24) before the YAML parser can
  // recurse.
  const LoadResult r = LoadText(kHeader + "knobs: " + Repeat("[", 4000) + Repeat("]", 4000) + "\n");
  CHECK_DIAG_AT(r, 0, 4, 24, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
  const LoadResult maps = LoadText(kHeader + "knobs: " + Repeat("{a: ", 1500) + "1" + Repeat("}", 1500) + "\n");
  CHECK_DIAG_AT(maps, 0, 4, 72, "nesting deeper than 16 levels");  // "{a: " is 4 columns a level
}

BOOST_AUTO_TEST_CASE(deeply_nested_flow_sequences_after_an_apostrophe) {
  // An apostrophe inside a plain scalar ("it's") opens no quoted string, so
  // the nesting after it on the same line still counts: the 17th '[' is at
  // column 30.
  const LoadResult r =
      LoadText(kHeader + "knobs: [it's, " + Repeat("[", 4000) + Repeat("]", 4000) + "]\n");
  CHECK_DIAG_AT(r, 0, 4, 30, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
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
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
}

BOOST_AUTO_TEST_CASE(deep_compact_block_sequences) {
  // "- - - - x": block sequences nest two characters per level on one line,
  // without brackets; 4000 levels is 8 KB. The 17th level starts at
  // column 33.
  const LoadResult r = LoadText(Repeat("- ", 4000) + "x\n");
  CHECK_DIAG_AT(r, 0, 1, 33, "nesting deeper than 16 levels");
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
}

BOOST_AUTO_TEST_CASE(billion_laughs) {
  // Nine levels of anchors, each referencing the previous one ten times:
  // 10^9 nodes if expanded. Refused fast. The expansion first exceeds the
  // 50000-node limit in the value of `e` (111,111 nodes; line 8, where its
  // anchor is).
  std::string text = kHeader + "a: &a [" + Repeat("\"lol\", ", 9) + "\"lol\"]\n";
  const std::string names = "abcdefghi";
  for (size_t i = 1; i < names.size(); ++i) {
    const std::string alias = std::string("*") + names[i - 1];
    text += std::string(1, names[i]) + ": &" + names[i] + " [" + Repeat(alias + ", ", 9) + alias + "]\n";
  }
  text += "knobs:\n  k: {type: int, default: 1}\n";
  const LoadResult r = LoadText(text);
  CHECK_DIAG_AT(r, 0, 8, 4, "aliases expanded");
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
}

// ---- Each limit of limits.h holds at its value ------------------------------------

// A policy of `n` elements of one kind, for the limit on that kind.
struct CountedPolicy {
  std::string kind;                       // what is counted
  size_t limit;                           // limits.h's value
  std::function<std::string(size_t)> of;  // the policy text with n of them
  std::string phrase;                     // the error past the limit holds it
};

std::string Lines(size_t n, const std::function<std::string(size_t)>& line) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += line(i);
  return out;
}

std::vector<CountedPolicy> CountedPolicies() {
  const auto limit = [](size_t value) { return "the limit is " + std::to_string(value); };
  const auto count = [](size_t value, const std::string& what) {
    return "more than " + std::to_string(value) + " " + what + " in one policy (the limit)";
  };
  return {
      {"facts", limits::kFacts,
       [](size_t n) {
         return kHeader + "facts:\n" + Lines(n, [](size_t i) { return "  f" + std::to_string(i) + ": device.cc\n"; }) +
                "knobs:\n  k: {type: int, default: 1}\n";
       },
       count(limits::kFacts, "facts")},
      {"knobs", limits::kKnobs,
       [](size_t n) {
         return kHeader + "knobs:\n" +
                Lines(n, [](size_t i) { return "  k" + std::to_string(i) + ": {type: int, default: 1}\n"; });
       },
       count(limits::kKnobs, "knobs")},
      {"rules", limits::kRules,
       [](size_t n) {
         return kHeader + "knobs:\n  k:\n    type: int\n    rules:\n" + Lines(n, [](size_t i) {
                  const std::string id = std::to_string(i);
                  return "      - {id: r" + id + ", when: device.num_sms == " + id + ", value: 1}\n";
                }) + "    default: 1\n";
       },
       count(limits::kRules, "rules")},
      {"environment overrides", limits::kOverrides,
       [](size_t n) {
         return kHeader + "knobs:\n  k:\n    type: int\n    env:\n" +
                Lines(n, [](size_t i) { return "      - {var: V" + std::to_string(i) + ", value: 1}\n"; }) +
                "    default: 1\n";
       },
       count(limits::kOverrides, "environment overrides")},
      {"enum members", limits::kEnumMembers,
       [](size_t n) {
         std::string members = "M0";
         for (size_t i = 1; i < n; ++i) members += ", M" + std::to_string(i);
         return kHeader + "knobs:\n  k:\n    type: {enum: [" + members + "]}\n    default: M0\n";
       },
       limit(limits::kEnumMembers)},
      {"facts and knobs in a chain, each reading the next", static_cast<size_t>(limits::kDependencyDepth),
       [](size_t n) {
         // k -> f0 -> f1 -> ... -> f(n-2), which reads a device fact.
         return kHeader + "facts:\n" + Lines(n - 2, [](size_t i) {
                  return "  f" + std::to_string(i) + ": f" + std::to_string(i + 1) + "\n";
                }) + "  f" + std::to_string(n - 2) + ": device.cc\nknobs:\n  k: {type: int, default: f0}\n";
       },
       limit(limits::kDependencyDepth)},
      {"characters of an expression", limits::kExpressionBytes,
       [](size_t n) {  // a string literal of n characters, quotes included
         return kHeader + "knobs:\n  k: {type: string, default: '\"" + std::string(n - 2, 'a') + "\"'}\n";
       },
       "the limit for an expression is " + std::to_string(limits::kExpressionBytes)},
      {"nested parentheses", static_cast<size_t>(limits::kExpressionDepth),
       [](size_t n) {
         return kHeader + "knobs:\n  k: {type: int, default: " + std::string(n, '(') + "1" + std::string(n, ')') + "}\n";
       },
       "nests deeper than " + std::to_string(limits::kExpressionDepth) + " levels"},
      {"levels of operators (1+1+...)", static_cast<size_t>(limits::kExpressionHeight),
       [](size_t n) { return kHeader + "knobs:\n  k: {type: int, default: 1" + Repeat("+1", static_cast<int>(n) - 1) + "}\n"; },
       "more than " + std::to_string(limits::kExpressionHeight) + " levels of operators"},
      {"bytes of a line", limits::kYamlLineBytes,
       [](size_t n) { return kHeader + "description: " + std::string(n - 13, 'x') + "\nknobs:\n  k: {type: int, default: 1}\n"; },
       "line is longer than the limit of " + std::to_string(limits::kYamlLineBytes) + " bytes"},
  };
}

BOOST_AUTO_TEST_CASE(each_limit_holds_at_its_value) {
  // At the limit the policy loads; one more is refused with an error that
  // names the limit. So the bound is the declared one, not a neighbour.
  for (const CountedPolicy& c : CountedPolicies()) {
    BOOST_TEST_CONTEXT("limit on " << c.kind << " (" << c.limit << ")") {
      const LoadResult at = LoadText(c.of(c.limit));
      BOOST_TEST(at.ok, "at the limit: " << at.diagnostics.ToString().substr(0, 500));
      const LoadResult past = LoadText(c.of(c.limit + 1));
      BOOST_TEST_REQUIRE(!past.ok);
      BOOST_TEST((past.code == ErrorCode::kInvalidInput));
      BOOST_TEST(past.diagnostics.error_count() == 1, past.diagnostics.ToString().substr(0, 500));
      BOOST_TEST(past.diagnostics.all()[0].message.find(c.phrase) != std::string::npos,
                 "'" << past.diagnostics.all()[0].message << "' lacks '" << c.phrase << "'");
    }
  }
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
  // The base could not be read at all: the load fails on its input
  // (kUnreadable, policyctl's exit 2), at the `extends:`.
  TempDir dir;
  const LoadResult r = LoadText(kHeader + "extends: missing_base.yaml\n", dir.Path("bad.yaml"));
  BOOST_TEST_INFO("diagnostics:\n" << r.diagnostics.ToString());
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST((r.code == ErrorCode::kUnreadable));
  BOOST_TEST_REQUIRE(!r.diagnostics.empty());
  BOOST_TEST(r.diagnostics.all()[0].location.line == 4);
  BOOST_TEST(r.diagnostics.all()[0].location.column == 10);
  BOOST_TEST(r.diagnostics.all()[0].message.find("extends: cannot read") != std::string::npos);
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
  BOOST_TEST((r.code == ErrorCode::kUnreadable));
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
  BOOST_TEST((r.code == ErrorCode::kUnreadable));
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
    BOOST_TEST((r.code == ErrorCode::kInvalidInput));
    BOOST_TEST(r.diagnostics.has_errors());
  }
  BOOST_TEST(r.seconds < kpolicy::testing::TimeBudget(1.0));
}

}  // namespace
}  // namespace kpolicy
