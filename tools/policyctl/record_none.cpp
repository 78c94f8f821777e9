// `policyctl record` in a build without CUDA: there is nothing to measure
// with, except the CPU emulation's model-level rows (--emulate).
#include <algorithm>

#include "exit_codes.h"
#include "model_record.h"
#include "record.h"

namespace kpolicy::tools {

int RunRecord(const std::vector<std::string>& args, Io& io) {
  if (std::find(args.begin(), args.end(), "--emulate") != args.end()) return RecordEmulatedModels(args, io);
  io.err << "policyctl record: error: this build has no CUDA support, so it cannot run the kernels; "
            "build where nvcc is found (/usr/local/cuda) and run on a machine with a GPU "
            "(or measure the CPU emulation of real models: policyctl record --emulate --model FILE --out F)\n";
  return kExitUsage;
}

}  // namespace kpolicy::tools
