// policyctl: validate, evaluate and explain kernel-selection policies.
#include <unistd.h>

#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  kpolicy::tools::Io io{std::cout, std::cerr, isatty(STDOUT_FILENO) == 1,
                        kpolicy::Environment::FromProcess(), kpolicy::runtime::DeviceProbe{}};
  const int status = kpolicy::tools::RunPolicyctl(args, io);
  std::cout.flush();
  return status;
}
