// `policyctl fleet` and `policyctl diff`: a policy's decision for every node
// of an inventory, grouped by identical decisions, and what changes where
// between two policies (the operator's "what if I roll this out").
#ifndef KPOLICY_TOOLS_FLEET_COMMANDS_H_
#define KPOLICY_TOOLS_FLEET_COMMANDS_H_

#include <string>
#include <vector>

#include "commands.h"

namespace kpolicy::tools {

// `args` excludes the command name. Exit: 0, 1 (fleet: a node's decision
// failed; diff: some decision changes), 2 (usage, unreadable or malformed
// inventory or policy file that cannot be read).
int RunFleet(const std::vector<std::string>& args, Io& io);
int RunDiff(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_FLEET_COMMANDS_H_
