// `policyctl lint FILE...`: what a valid policy says that it cannot mean
// (engine's policy_lint.h does the finding; this file reads the command
// line, loads the policies and the records, and prints).
#ifndef KPOLICY_TOOLS_LINT_COMMAND_H_
#define KPOLICY_TOOLS_LINT_COMMAND_H_

#include <string>
#include <vector>

#include "commands.h"

namespace kpolicy::tools {

// `args` excludes the command name. Exit: 0 (warnings too, unless
// --strict), 1 with --strict and a warning, or a policy that is invalid,
// 2 usage or unreadable input.
int RunLint(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_LINT_COMMAND_H_
