// `policyctl record` in a build without CUDA: there is nothing to measure with.
#include "exit_codes.h"
#include "record.h"

namespace kpolicy::tools {

int RunRecord(const std::vector<std::string>&, Io& io) {
  io.err << "policyctl record: error: this build has no CUDA support, so it cannot run the kernels; "
            "build where nvcc is found (/usr/local/cuda) and run on a machine with a GPU\n";
  return kExitUsage;
}

}  // namespace kpolicy::tools
