#include "yaml_document.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "kpolicy/input_file.h"
#include "kpolicy/printable.h"
#include "kpolicy/spelling.h"
#include "kpolicy/value.h"

namespace kpolicy {

namespace {

// Notes where a document's first node starts; ignores the rest.
class FirstNodeMark : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { Note(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnMapEnd() override {}

 private:
  void Note(const YAML::Mark& m) {
    if (!mark) mark = m;
  }
};

// The line of the last document marker ('---' or '...' at the start of a
// line) in `text`; 1 if there is none.
int LastDocumentMarkerLine(std::string_view text) {
  int line = 1, marker_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 0 || text[i - 1] == '\n') {
      const std::string_view start = text.substr(i, 3);
      if (start == "---" || start == "...") marker_line = line;
    }
    line += text[i] == '\n';
  }
  return marker_line;
}

// Where a second document of `text` starts (its first node: for an empty
// one, the '---' or '...' line that opened it), if there is one. Parses at
// most two documents, whatever follows.
std::optional<YAML::Mark> SecondDocumentStart(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  FirstNodeMark first, second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark.value_or(YAML::Mark());
}

// YAML 1.2's decimal number: [-+]? ( . digits | digits ( . digits? )? ) ( [eE] [-+]? digits )?
bool IsDecimalNumber(std::string_view t) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > start;
  };
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < t.size() && t[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

// YAML 1.2's spellings of NaN and the infinities; nullopt for anything else.
std::optional<double> YamlNonFinite(std::string_view t) {
  if (t == ".nan" || t == ".NaN" || t == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  for (std::string_view inf : {".inf", ".Inf", ".INF"}) {
    if (t == inf || (t.size() == inf.size() + 1 && t[0] == '+' && t.substr(1) == inf)) {
      return std::numeric_limits<double>::infinity();
    }
    if (t.size() == inf.size() + 1 && t[0] == '-' && t.substr(1) == inf) {
      return -std::numeric_limits<double>::infinity();
    }
  }
  return std::nullopt;
}

// A bound as the file would write it: whole numbers in full (16777216, not
// 1.67772e+07), the infinities as YAML spells them.
std::string BoundText(double v) {
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  if (std::floor(v) == v && std::fabs(v) < 1e16) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  return FormatNumber(v);
}

// "in [0, 1]", or "of 0 or more" for a domain with no upper bound.
std::string RangeText(const NumberDomain& d) {
  if (d.max == std::numeric_limits<double>::max()) return "of " + BoundText(d.min) + " or more";
  return "in [" + BoundText(d.min) + ", " + BoundText(d.max) + "]";
}

}  // namespace

std::string JoinNames(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

void YamlDocument::Error(SourceLocation where, std::string message) {
  if (diagnostics_.error_count() < limits_.max_errors) diagnostics_.Error(std::move(where), std::move(message));
}

std::optional<YAML::Node> YamlDocument::Parse(std::string_view text) {
  if (text.size() > limits_.max_file_bytes) {
    Error(At(1, 1), FileTooLarge(text.size(), limits_.max_file_bytes));
    return std::nullopt;
  }
  // A byte order mark is no part of the text; yaml-cpp would count its
  // three bytes in the columns of line 1.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  source_ = text;
  if (!CheckText(text) || !CheckNestingBeforeParsing(text)) return std::nullopt;
  // yaml-cpp's Load() reads the first document and ignores the rest, so a
  // policy followed by '---' and more would lose the more in silence. Not
  // LoadAll(): after a top-level flow node, a stray ',' or ']' ("[],")
  // makes it return empty documents forever (gigabytes in seconds; found
  // by fuzz_policy), so the parser is asked for a second document once.
  // That parses the first document twice: yaml-cpp builds Nodes from its
  // parser's events only in classes it does not install (NodeBuilder), and
  // a policy is at most limits.h's file size, so the cost stays linear.
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    root = YAML::Load(std::string(text));
    second = SecondDocumentStart(text);
  } catch (const YAML::Exception& e) {
    Error(At(e.mark.line + 1, e.mark.column + 1), "YAML: " + e.msg);
    return std::nullopt;
  } catch (const std::exception& e) {
    Error(At(1, 1), std::string("YAML: ") + e.what());
    return std::nullopt;
  }
  if (second) {
    const size_t pos = static_cast<size_t>(std::max(second->pos, 0));
    const char c = pos < text.size() ? text[pos] : '\0';
    // An empty second document has no node to point at: its marker does.
    const bool empty = c == '\0' || c == '\n' || c == '\r';
    const SourceLocation where =
        empty ? At(LastDocumentMarkerLine(text.substr(0, pos)), 1) : At(second->line + 1, second->column + 1);
    if (c == ',' || c == ']' || c == '}') {
      Error(where, std::string("YAML: '") + c + "' after the end of the document's root node");
    } else {
      Error(where, "a second YAML document: a file holds one ('---' or '...' ends the first, and nothing may follow)");
    }
    return std::nullopt;
  }
  bool ok = true;
  std::map<int, size_t> sizes;
  SubtreeSize(root, 1, sizes, ok);
  if (!ok) return std::nullopt;
  return root;
}

// What YAML 1.2 calls printable, in UTF-8: no control character but tab
// and line breaks, no NUL, no C1 control; and bidirectional controls are
// refused too, since they make a line read other than it parses. Lines are
// bounded. The first offence is reported.
bool YamlDocument::CheckText(std::string_view text) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size();) {
    const int column = static_cast<int>(i - line_start) + 1;
    uint32_t cp = 0;
    const int n = DecodeUtf8(text, i, cp);
    if (n == 0) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[i]));
      Error(At(line, column), std::string("not UTF-8 (byte ") + byte + "): YAML files are UTF-8 text");
      return false;
    }
    if (cp == '\n') {
      ++line;
      line_start = i + 1;
    } else if (cp != '\r' && IsUnprintable(cp)) {
      Error(At(line, column), "control character " + CodePointName(cp) + ": YAML files are printable text");
      return false;
    }
    if (i + n - line_start > limits_.max_line_bytes && cp != '\n') {
      Error(At(line, static_cast<int>(limits_.max_line_bytes) + 1),
            "line is longer than the limit of " + std::to_string(limits_.max_line_bytes) + " bytes");
      return false;
    }
    i += n;
  }
  return true;
}

// A double-quoted scalar's escapes can write what the text may not hold
// ("\0", "\e", "\ud800"): its value is held to the same printable set.
bool YamlDocument::CheckScalarValue(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || static_cast<size_t>(mark.pos) >= source_.size() || source_[mark.pos] != '"') return true;
  const std::string& value = node.Scalar();
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    const int n = DecodeUtf8(value, i, cp);
    if (n == 0) {
      Error(Loc(node), "an escape in this value is not a Unicode character (a lone surrogate?)");
      return false;
    }
    if (IsUnprintable(cp)) {
      Error(Loc(node), "an escape in this value writes control character " + CodePointName(cp) +
                           ": values are printable text");
      return false;
    }
    i += n;
  }
  return true;
}

std::string YamlDocument::CodePointName(uint32_t cp) {
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
  if (cp == 0) return std::string(name) + " (NUL)";
  if (cp >= 0x80 && cp <= 0x9F) return std::string(name) + " (a C1 control)";
  if (cp > 0x9F) return std::string(name) + " (a bidirectional text control)";
  return name;
}

SourceLocation YamlDocument::Loc(const YAML::Node& node) const {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return At(1, 1);
  return At(m.line + 1, m.column + 1);
}

std::string YamlDocument::Kind(const YAML::Node& n) {
  if (n.IsMap()) return "mapping";
  if (n.IsSequence()) return "list";
  if (n.IsScalar()) return "scalar '" + n.Scalar() + "'";
  return "empty value";
}
std::string YamlDocument::ScalarOr(const YAML::Node& n, std::string fallback) {
  return n.IsScalar() ? n.Scalar() : fallback;
}

// Flow collections ([ and {) and compact sequences (- - - x) nest without
// indentation, so a few bytes can nest deeply enough to exhaust a
// recursive parser's stack; refuse them before parsing. Quoted scalars are
// skipped, and a quote opens one only where a scalar can start.
//
// The same scan counts the indicators that start nodes ('- ', '? ', ': ',
// '[', '{', and ',' inside a flow collection): each stands for at least
// one node, so more of them than the node limit is a document over it.
// yaml-cpp spends about 500 bytes and a few microseconds on a node, so a
// 1 MiB file of "1," would cost 250 MiB and seconds to parse before the
// node count after parsing could refuse it.
bool YamlDocument::CheckNestingBeforeParsing(std::string_view text) {
  int depth = 0, compact = 0, line = 1, column = 0;
  size_t indicators = 0;
  char quote = 0, previous = '\n';
  bool comment = false, line_start = true;
  auto too_deep = [&] {
    Error(At(line, column), "nesting deeper than " + std::to_string(limits_.max_depth) +
                                " levels; a policy needs far fewer");
    return false;
  };
  auto too_many = [&] {
    Error(At(line, column), "more than " + std::to_string(limits_.max_nodes) +
                                " nodes (counted before parsing): the limit of nodes in a file");
    return false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      comment = false;
      line_start = true;
      compact = 0;
      previous = c;
      continue;
    }
    if (comment) continue;
    if (quote == '\'') {
      if (c == '\'' && next == '\'') { ++i; ++column; }
      else if (c == '\'') quote = 0;
      continue;
    }
    if (quote == '"') {
      if (c == '\\') { ++i; ++column; }
      else if (c == '"') quote = 0;
      continue;
    }
    if (line_start) {
      if (c == ' ' || c == '\t') continue;
      if ((c == '-' || c == '?') && (next == ' ' || next == '\t' || next == '\n' || next == '\0')) {
        if (++compact > limits_.max_depth) return too_deep();
        if (++indicators > limits_.max_nodes) return too_many();
        continue;
      }
      line_start = false;
    }
    if (c == '#' && (previous == ' ' || previous == '\t' || previous == '\n')) {
      comment = true;
      continue;
    }
    const bool scalar_can_start = std::string_view(" \t\n[{,:").find(previous) != std::string_view::npos;
    if ((c == '"' || c == '\'') && scalar_can_start) {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > limits_.max_depth) return too_deep();
      if (++indicators > limits_.max_nodes) return too_many();
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if ((c == ',' && depth > 0) ||
               (c == ':' && std::string_view(" \t\n,]}").find(next == '\0' ? '\n' : next) != std::string_view::npos)) {
      if (++indicators > limits_.max_nodes) return too_many();
    }
    previous = c;
  }
  return true;
}

// Bounds nesting depth and the size of every subtree with aliases
// expanded (an anchor referenced ten times, nine levels deep, is a billion
// nodes), and checks escaped scalars (CheckScalarValue). Sizes are memoised
// by position, which an alias shares with its anchor, so the check itself
// stays linear; the innermost value that is too large is the one reported.
size_t YamlDocument::SubtreeSize(const YAML::Node& node, int depth, std::map<int, size_t>& sizes, bool& ok) {
  if (!ok) return 0;
  if (depth > limits_.max_depth) {
    Error(Loc(node), "nesting deeper than " + std::to_string(limits_.max_depth) +
                         " levels; a policy needs far fewer");
    ok = false;
    return 0;
  }
  const YAML::Mark mark = node.Mark();
  if (!mark.is_null()) {
    if (auto it = sizes.find(mark.pos); it != sizes.end()) return it->second;
  }
  if (!node.IsMap() && !node.IsSequence()) {
    if (node.IsScalar() && !CheckScalarValue(node)) ok = false;
    if (!mark.is_null()) sizes[mark.pos] = 1;
    return 1;
  }
  size_t size = 1;
  for (auto it = node.begin(); it != node.end() && ok; ++it) {
    if (node.IsMap()) {
      size += SubtreeSize(it->first, depth + 1, sizes, ok) + SubtreeSize(it->second, depth + 1, sizes, ok);
    } else {
      size += SubtreeSize(*it, depth + 1, sizes, ok);
    }
    if (ok && size > limits_.max_nodes) {
      Error(Loc(node), "this value has more than " + std::to_string(limits_.max_nodes) +
                           " nodes, aliases expanded: the limit of nodes in a file");
      ok = false;
    }
  }
  if (!mark.is_null()) sizes[mark.pos] = size;
  return size;
}

// Reports unknown keys (with a suggestion), non-scalar and duplicate keys.
// An empty `allowed` accepts any key (free-form names such as facts).
// Returns the allowed keys that an unknown key looked like a misspelling
// of, so that their absence is not reported a second time.
using Misspelt = std::set<std::string>;
YamlDocument::Misspelt YamlDocument::CheckKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
                   const std::string& context) {
  Misspelt misspelt;
  std::map<std::string, SourceLocation> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(Loc(it->first), "keys in " + context + " are plain names, not a " + Kind(it->first));
      continue;
    }
    const std::string& key = it->first.Scalar();
    auto [previous, inserted] = seen.emplace(key, Loc(it->first));
    if (!inserted) {
      Error(Loc(it->first), "duplicate key '" + key + "' in " + context + " (first at " +
                                "line " + std::to_string(previous->second.line) + ")");
      continue;
    }
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Error(Loc(it->first), "unknown key '" + key + "' in " + context + DidYouMean(key, allowed) +
                                "; allowed: " + JoinNames(allowed));
      if (auto match = ClosestMatch(key, allowed)) misspelt.insert(*match);
    }
  }
  return misspelt;
}

// The value of `key` in `map`, or a null node. (yaml-cpp's operator[]
// would insert into a non-const node; this never does.)
YAML::Node YamlDocument::Get(const YAML::Node& map, const std::string& key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string YamlDocument::String(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) {
    Error(Loc(node), "'" + what + "' must be a single value, not a " + Kind(node));
    return "";
  }
  return node.Scalar();
}

std::string YamlDocument::RequiredString(const YAML::Node& map, const std::string& key, const std::string& context,
                           const Misspelt& misspelt) {
  YAML::Node node = Get(map, key);
  if (!node) {
    if (!misspelt.count(key)) Error(Loc(map), "missing '" + key + "' in " + context);
    return "";
  }
  std::string s = String(node, key);
  if (node.IsScalar() && s.empty()) Error(Loc(node), "'" + key + "' is empty");
  return s;
}

// The line and column of each character of a scalar's value. The value's
// non-blank characters appear in the source in order (folding, block
// indentation and escapes only add or drop characters around them), so a
// forward scan from the node's mark matches each one.
std::vector<std::pair<int, int>> YamlDocument::LocateScalarText(const YAML::Node& node, const std::string& value) const {
  const YAML::Mark mark = node.Mark();
  std::vector<std::pair<int, int>> out(value.size());
  if (mark.is_null() || static_cast<size_t>(mark.pos) >= source_.size()) return {};
  size_t src = static_cast<size_t>(mark.pos);
  int line = mark.line + 1, column = mark.column + 1;
  auto advance = [&] {
    if (source_[src] == '\n') { ++line; column = 1; } else { ++column; }
    ++src;
  };
  const char first = source_[src];
  if (first == '"' || first == '\'') advance();
  if (first == '|' || first == '>') {  // block scalar: the text starts on the next line
    while (src < source_.size() && source_[src] != '\n') advance();
  }
  std::pair<int, int> last{line, column - 1};
  for (size_t i = 0; i < value.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(value[i]))) {
      out[i] = {last.first, last.second + 1};
      continue;
    }
    while (src < source_.size() && source_[src] != value[i]) advance();
    if (src >= source_.size()) return {};  // not found: fall back to the mark
    out[i] = last = {line, column};
    advance();
  }
  return out;
}



std::optional<double> YamlDocument::Number(const YAML::Node& node, const std::string& what,
                                           const NumberDomain& domain) {
  const std::string text = String(node, what);
  if (!node.IsScalar()) return std::nullopt;
  const std::string& tag = node.Tag();
  if (tag != "?" && tag != "tag:yaml.org,2002:int" && tag != "tag:yaml.org,2002:float") {
    Error(Loc(node), "'" + what + "' must be a number, not the " +
                         (tag == "!" ? "quoted text '" + text + "' (write it without quotes)"
                                     : "value '" + text + "' tagged " + tag));
    return std::nullopt;
  }
  double v = 0;
  if (std::optional<double> special = YamlNonFinite(text)) {
    v = *special;
    if (std::isnan(v) ? !domain.may_be_nan : (v < 0 || !domain.may_be_infinite)) {
      Error(Loc(node), "'" + what + "' cannot be " + text + ": it is a" + (domain.whole ? " whole" : "") + " number " +
                           RangeText(domain));
      return std::nullopt;
    }
    return v;
  }
  if (!IsDecimalNumber(text)) {
    Error(Loc(node), "'" + what + "' must be a decimal number, not '" + text + "'");
    return std::nullopt;
  }
  v = std::strtod(text.c_str(), nullptr);  // the syntax is checked; an overflow gives +-HUGE_VAL
  if (!(v >= domain.min && v <= domain.max)) {
    Error(Loc(node), "'" + what + "' is " + text + "; it must be a number " + RangeText(domain));
    return std::nullopt;
  }
  if (domain.whole && std::floor(v) != v) {
    Error(Loc(node), "'" + what + "' must be a whole number, not " + text);
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> YamlDocument::WholeNumber(const YAML::Node& node, const std::string& what, int64_t min,
                                                 int64_t max) {
  NumberDomain domain;
  domain.min = static_cast<double>(min);
  domain.max = static_cast<double>(max);
  domain.whole = true;
  // |min|, |max| < 2^53 here (every caller's bounds), so the checked double
  // converts exactly.
  std::optional<double> v = Number(node, what, domain);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::vector<std::string> YamlDocument::Strings(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (auto it = node.begin(); it != node.end(); ++it) out.push_back(String(*it, what));
  } else {
    Error(Loc(node), "'" + what + "' is a list of names, not a " + Kind(node));
  }
  return out;
}

Checked<std::vector<std::string>> ListYamlFiles(const std::string& directory, const std::string& what) {
  Diagnostics diagnostics;
  std::vector<std::string> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(directory, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::filesystem::path& path = it->path();
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension != ".yaml" && extension != ".yml") continue;
    std::error_code type_ec;
    if (path.extension() != ".yaml") {
      diagnostics.Error({path.string(), 0, 0}, "not read: " + what + " are read from *.yaml files only; rename it to " +
                                                   path.stem().string() + ".yaml");
    } else if (!std::filesystem::is_regular_file(path, type_ec)) {
      diagnostics.Error({path.string(), 0, 0}, "not read: not a regular file");
    } else {
      files.push_back(path.string());
    }
  }
  if (ec) diagnostics.Error({directory, 0, 0}, "cannot list " + what + ": " + ec.message());
  if (diagnostics.has_errors()) return Fail(std::move(diagnostics));
  std::sort(files.begin(), files.end());
  return files;
}


}  // namespace kpolicy
