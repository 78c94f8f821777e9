// policyctl's commands, as functions of their arguments and streams so tests
// can run them in-process. Each returns an exit status (exit_codes.h).
#ifndef KPOLICY_TOOLS_COMMANDS_H_
#define KPOLICY_TOOLS_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "kpolicy/environment.h"

namespace kpolicy::tools {

struct Io {
  std::ostream& out;
  std::ostream& err;
  bool out_is_terminal = false;  // colours in text output, unless NO_COLOR
  Environment process_env;       // what eval/explain see without --clean-env
};

// `args` excludes the program name: {"explain", "--device", "h100"}.
int RunPolicyctl(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_COMMANDS_H_
