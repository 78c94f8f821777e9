// `policyctl record`: measures every GEMV variant on the local GPU on the
// standard parity workloads and writes contracts/parity/<device>.yaml.
#ifndef KPOLICY_TOOLS_RECORD_H_
#define KPOLICY_TOOLS_RECORD_H_

#include <string>
#include <vector>

#include "commands.h"

namespace kpolicy::tools {

int RunRecord(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_RECORD_H_
