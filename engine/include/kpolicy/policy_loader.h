// Policy loading: YAML text -> checked, compiled Policy, or every problem the
// loader could find, each as `FILE:LINE:COL: error: MESSAGE`. A file that
// `extends:` a base is merged with it before compiling (see
// policies/README.md for the overlay rules). Hostile input is bounded: every
// limit of limits.h that concerns a policy has an error of its own naming
// it, and only regular files are read (input_file.h). Nothing is
// half-applied: either a whole Policy or none.
//
// Thread-safety: pure functions of their inputs and the files they read.
#ifndef KPOLICY_POLICY_LOADER_H_
#define KPOLICY_POLICY_LOADER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "kpolicy/diagnostic.h"
#include "kpolicy/limits.h"
#include "kpolicy/policy.h"

namespace kpolicy {

// The bounds of reading one YAML file (limits.h says why each value); a
// reader of larger documents (inventories) raises them.
struct LoadLimits {
  size_t max_file_bytes = limits::kPolicyFileBytes;
  size_t max_line_bytes = limits::kYamlLineBytes;
  int max_depth = limits::kYamlDepth;
  size_t max_nodes = limits::kYamlNodes;  // nodes visited, aliases expanded
  int max_extends = limits::kExtendsChain;
  int max_errors = limits::kReportedErrors;  // stop reporting after this many
};

// A failed load is an Error whose code says why: kUnreadable when the file
// or a base it extends could not be read at all (missing, a directory, a
// FIFO, a device), kInvalidInput when it was read and found wrong
// (policyctl exits 2 for the first and 1 for the second). Its `findings`
// hold every diagnostic, sorted by place; its place and message are the
// first error's.

// Loads the file at `path`; `extends:` paths resolve against its folder.
Expected<Policy> LoadPolicyFile(const std::string& path, const LoadLimits& limits = {});

// Loads policy text that came from `file_name` (used in diagnostics and to
// resolve `extends:`).
Expected<Policy> LoadPolicyText(std::string_view text, const std::string& file_name,
                                const LoadLimits& limits = {});

}  // namespace kpolicy

#endif  // KPOLICY_POLICY_LOADER_H_
