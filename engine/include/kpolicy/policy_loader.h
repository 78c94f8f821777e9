// Policy loading: YAML text -> checked, compiled Policy, or every problem the
// loader could find, each as `FILE:LINE:COL: error: MESSAGE`. A file that
// `extends:` a base is merged with it before compiling (see
// policies/README.md for the overlay rules). Hostile input is bounded: file
// size, nesting depth and alias expansion each have a limit and an error of
// their own. Nothing is half-applied: either a whole Policy or none.
//
// Thread-safety: pure functions of their inputs and the files they read.
#ifndef KPOLICY_POLICY_LOADER_H_
#define KPOLICY_POLICY_LOADER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "kpolicy/diagnostic.h"
#include "kpolicy/policy.h"

namespace kpolicy {

struct LoadLimits {
  size_t max_file_bytes = 1 << 20;  // a policy is a few KiB; 1 MiB is generous
  int max_depth = 16;               // the language nests 5 levels at most
  size_t max_nodes = 100000;        // nodes visited, aliases expanded
  int max_extends = 8;              // length of an extends: chain
  int max_errors = 50;              // stop reporting after this many
};

// A failed load is an Error whose code says why: kUnreadable when the file
// could not be read at all, kInvalidInput when it was read and found wrong
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
