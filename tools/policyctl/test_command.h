// `policyctl test FILE...`: runs operators' own cases of a policy (engine's
// policy_cases.h reads and runs them) and reports what differed and which
// rules, overrides and defaults no case exercised.
#ifndef KPOLICY_TOOLS_TEST_COMMAND_H_
#define KPOLICY_TOOLS_TEST_COMMAND_H_

#include <string>
#include <vector>

#include "commands.h"

namespace kpolicy::tools {

// `args` excludes the command name. Exit: 0 every case passed, 1 a case
// failed (or the policy is invalid), 2 usage or bad input (malformed or
// unreadable test file, unknown knob, value, rule or device).
int RunTest(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_TEST_COMMAND_H_
