// YamlDocument: the parts of reading a YAML file that every kpolicy file
// format shares (policies, contracts, parity records): bounded parsing
// (size, nesting, alias expansion), places of nodes, key checking with
// "did you mean", and typed scalar access, all reporting into Diagnostics.
// Internal to the engine.
//
// Thread-safety: one instance per file read, used by one thread.
#ifndef KPOLICY_ENGINE_YAML_DOCUMENT_H_
#define KPOLICY_ENGINE_YAML_DOCUMENT_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/diagnostic.h"
#include "kpolicy/input_file.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy {

// The numbers a field takes (YamlDocument::Number): an inclusive range of
// finite values, whole or not, and whether YAML's .nan or .inf may stand
// for a value (a broken kernel's metrics).
struct NumberDomain {
  double min = -std::numeric_limits<double>::max();
  double max = std::numeric_limits<double>::max();
  bool whole = false;
  bool may_be_nan = false;
  bool may_be_infinite = false;
};

class YamlDocument {
 public:
  YamlDocument(std::string file, const LoadLimits& limits, Diagnostics& diagnostics)
      : file_(std::move(file)), limits_(limits), diagnostics_(diagnostics) {}

  // Parses `text` within the limits; nullopt after reporting why not: too
  // large, a line too long, bytes that are not printable UTF-8 (a byte
  // order mark is skipped), nesting too deep, too many nodes, a second
  // document. The text must outlive this object (scalar places are found
  // in it).
  std::optional<YAML::Node> Parse(std::string_view text);

  // The node's place (1-based); 1:1 for an empty document.
  SourceLocation Loc(const YAML::Node& node) const;
  SourceLocation At(int line, int column) const { return {file_, line, column}; }
  void Error(SourceLocation where, std::string message);

  // "mapping", "list", "scalar 'x'", "empty value": for messages.
  static std::string Kind(const YAML::Node& n);
  static std::string ScalarOr(const YAML::Node& n, std::string fallback);

  // Reports non-scalar, duplicate and unknown keys (an empty `allowed`
  // accepts any). Returns the allowed keys an unknown key looked like a
  // misspelling of, so their absence is not reported a second time.
  using Misspelt = std::set<std::string>;
  Misspelt CheckKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
                     const std::string& context);

  // The value of `key` in `map`, or an undefined node. (yaml-cpp's
  // operator[] would insert into a non-const node; this never does.)
  static YAML::Node Get(const YAML::Node& map, const std::string& key);

  // The scalar's text, or "" after an error saying `what` must be one.
  std::string String(const YAML::Node& node, const std::string& what);
  // `key`'s non-empty scalar; reports it missing unless it was misspelt.
  std::string RequiredString(const YAML::Node& map, const std::string& key, const std::string& context,
                             const Misspelt& misspelt);

  // The scalar as a number in `domain`, or nullopt after an error. Only an
  // unquoted decimal number is one (12, -3.5, 1e-4; YAML's .nan, .inf and
  // -.inf where the domain allows them): a quoted "0.99", 0x1f or 0o17 in a
  // record is more likely an editing slip than a figure, and the range is
  // checked before any conversion, so 1e300 never reaches an integer.
  std::optional<double> Number(const YAML::Node& node, const std::string& what, const NumberDomain& domain = {});
  // A whole number in [min, max], or nullopt after an error.
  std::optional<int64_t> WholeNumber(const YAML::Node& node, const std::string& what, int64_t min, int64_t max);
  // The scalar as a list of strings (a single scalar is a list of one).
  std::vector<std::string> Strings(const YAML::Node& node, const std::string& what);

  // The line and column of each character of a scalar's value; empty when
  // they cannot be found (then callers use the node's place).
  std::vector<std::pair<int, int>> LocateScalarText(const YAML::Node& node, const std::string& value) const;

  const std::string& file() const { return file_; }
  const LoadLimits& limits() const { return limits_; }

 private:
  bool CheckText(std::string_view text);
  bool CheckNestingBeforeParsing(std::string_view text);
  bool CheckScalarValue(const YAML::Node& node);
  static std::string CodePointName(uint32_t cp);
  size_t SubtreeSize(const YAML::Node& node, int depth, std::map<int, size_t>& sizes, bool& ok);

  std::string file_;
  std::string_view source_;
  const LoadLimits& limits_;
  Diagnostics& diagnostics_;
};

// The *.yaml files directly in `directory`, sorted by name. `what` names
// them in messages ("records"). A *.yml file, or a *.yaml entry that is not
// a regular file, is an error at its name rather than skipped in silence;
// other files (a README) are not read.
Checked<std::vector<std::string>> ListYamlFiles(const std::string& directory, const std::string& what);

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

// Reads `text`, which came from `file`, with a Reader (a YamlDocument with a
// `T Read(const YAML::Node&)`), returning its T or every diagnostic, sorted.
template <typename Reader>
auto ParseYamlText(std::string_view text, const std::string& file)
    -> Checked<decltype(std::declval<Reader&>().Read(YAML::Node()))> {
  Diagnostics diagnostics;
  const LoadLimits limits;
  Reader reader(file, limits, diagnostics);
  std::optional<YAML::Node> root = reader.Parse(text);
  decltype(reader.Read(YAML::Node())) result{};
  if (root) result = reader.Read(*root);
  if (diagnostics.has_errors()) {
    diagnostics.SortByLocation();
    return Fail(std::move(diagnostics));
  }
  return result;
}

// ParseYamlText over the file at `path`.
template <typename Reader>
auto ReadYamlFile(const std::string& path) -> Checked<decltype(std::declval<Reader&>().Read(YAML::Node()))> {
  auto text = ReadInputFile(path, LoadLimits{}.max_file_bytes);
  if (!text.ok()) {
    Diagnostics diagnostics;
    diagnostics.Error({path, 0, 0}, text.error().message);
    return Fail(std::move(diagnostics));
  }
  return ParseYamlText<Reader>(*text, path);
}

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_YAML_DOCUMENT_H_
