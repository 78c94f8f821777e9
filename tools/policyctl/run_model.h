// `policyctl run --model FILE.gguf`: a real model decoded greedily with the
// kernels a started runtime dispatched (runtime/model_matvec.h), with
// per-position parity against the CPU fp64 reference; with --cpu, or where
// the runtime has no GPU kernels, the fp64 reference alone ("reference
// only": nothing is compared with itself). Options and output: README.md's
// policyctl table and `policyctl run --model FILE --help`.
#ifndef KPOLICY_TOOLS_RUN_MODEL_H_
#define KPOLICY_TOOLS_RUN_MODEL_H_

#include <optional>
#include <string>
#include <vector>

#include "commands.h"

namespace kpolicy::tools {

// The --model value of `args` when it names a model file (an existing file,
// or any value ending in .gguf, so that a missing file is reported as one),
// else nullopt (a catalog name of the decoder-layer demo).
std::optional<std::string> ModelFileArgument(const std::vector<std::string>& args);

// --contracts of both forms of `policyctl run` (StartOptions::contracts_path).
inline constexpr const char* kRunContractsHelp =
    "contracts folder whose parity records (DIR/parity) rules asking for evidence read "
    "(default: KPOLICY_CONTRACTS, else /etc/kpolicy/contracts if present, else none)";

// Exit status: 0 decoded, 1 startup failed or the model's architecture is
// unsupported, 2 usage, or the model file missing, truncated or corrupt.
int RunModel(const std::vector<std::string>& args, Io& io);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_RUN_MODEL_H_
