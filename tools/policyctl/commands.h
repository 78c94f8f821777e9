// policyctl's commands, as functions of their arguments and streams so tests
// can run them in-process. Each returns an exit status (exit_codes.h).
#ifndef KPOLICY_TOOLS_COMMANDS_H_
#define KPOLICY_TOOLS_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "kpolicy/contract.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy.h"
#include "kpolicy/runtime/device_probe.h"

namespace boost::program_options {
class variables_map;
class options_description;
class positional_options_description;
}

namespace kpolicy::tools {

struct Io {
  std::ostream& out;
  std::ostream& err;
  bool out_is_terminal = false;  // colours in text output, unless NO_COLOR
  Environment process_env;       // what eval/explain see without --clean-env
  // The local GPUs that eval and explain (without a device) and run decide
  // for; tests stand a mixed host in with DeviceProbe::Fixed.
  runtime::DeviceProbe local_devices;
  // Set by a command that colours its own output: the styles of
  // printable.h's palette then pass to `out` (printable_output.h).
  bool out_styled = false;
};

// `args` excludes the program name: {"explain", "--device", "h100"}.
// Everything the command writes passes the printable filter
// (printable_output.h): control characters, escape sequences and bytes that
// are not UTF-8 are shown escaped, never sent to the terminal.
int RunPolicyctl(const std::vector<std::string>& args, Io& io);

// RunPolicyctl with its output captured: for tests and for hosts that embed
// policyctl. `process_env` is what eval/explain see without --clean-env,
// `local_devices` the host's GPUs.
struct CapturedRun {
  int status = -1;
  std::string out, err;
};
CapturedRun RunPolicyctlCaptured(const std::vector<std::string>& args, Environment process_env = {},
                                 runtime::DeviceProbe local_devices = {});

// The environment of --clean-env / --env NAME=VALUE (repeatable) over the
// process's; the error is the message for a malformed --env.
Expected<Environment, std::string> BuildEnvironment(const boost::program_options::variables_map& vm, const Io& io);

// Parses `args` against `options` (and `positional`, when given) into a
// variables_map; a bad command line is an Error with code kInvalidArgument
// whose message is program_options' own. Every command parses through it.
Expected<boost::program_options::variables_map> ParseCommandLine(
    const std::vector<std::string>& args, const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description* positional = nullptr);

// A policy file, or a built-in one by name (builtin:default, builtin:seed).
Expected<Policy> LoadNamedPolicy(const std::string& name);

// Contracts and the parity records beside them (check, explain, lint, test).
using ContractSet = EvidenceSet;

// Loads DIR's contracts and RECORDS's parity records; on failure prints the
// diagnostics and returns the exit status (2 a missing folder, 1 a bad file).
Expected<ContractSet, int> LoadContractSet(const std::string& directory, const std::string& records_directory,
                                           Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_COMMANDS_H_
