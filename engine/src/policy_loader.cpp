// Loading runs in three stages, each in its own file and each reporting
// into one Diagnostics list:
//   1. read: parse each file's YAML within LoadLimits (yaml_document.h),
//      following `extends:` to its bases (policy_document.h);
//   2. schema: check keys, shapes, required fields and types into a
//      RawPolicy (policy_schema.h), merged over its base
//      (policy_overlay.h);
//   3. compile: resolve names, compile expressions, order by dependency,
//      report cycles, lint (policy_compile.h).
#include "kpolicy/policy_loader.h"

#include <optional>

#include "policy_compile.h"
#include "policy_document.h"
#include "yaml_document.h"

namespace kpolicy {

Expected<Policy> LoadPolicyText(std::string_view text, const std::string& file_name, const LoadLimits& limits) {
  Diagnostics diagnostics;
  // Compile what could be read even after errors in reading it, so one
  // run reports a misspelt key and a type error elsewhere together.
  PolicyDocuments documents = ReadPolicyDocuments(text, file_name, limits, diagnostics);
  if (documents.policy) {
    std::optional<Policy> policy = CompilePolicy(*documents.policy, diagnostics);
    if (policy && !diagnostics.has_errors()) return std::move(*policy);
  }
  diagnostics.SortByLocation();
  diagnostics.Truncate(limits.max_errors);
  return Fail(diagnostics.ToError(documents.base_unreadable ? ErrorCode::kUnreadable : ErrorCode::kInvalidInput));
}

Expected<Policy> LoadPolicyFile(const std::string& path, const LoadLimits& limits) {
  auto read = ReadInputFile(path, limits.max_file_bytes);
  if (!read.ok()) {
    // A file too large was read as far as its size: it is wrong, not
    // unreadable, and its place is its start.
    const bool too_large = read.error().code == ErrorCode::kInvalidInput;
    Diagnostics diagnostics;
    diagnostics.Error(too_large ? SourceLocation{path, 1, 1} : SourceLocation{path, 0, 0}, read.error().message);
    return Fail(diagnostics.ToError(too_large ? ErrorCode::kInvalidInput : ErrorCode::kUnreadable));
  }
  return LoadPolicyText(*read, path, limits);
}

}  // namespace kpolicy
