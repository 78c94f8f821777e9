// The gate in a build without CUDA: no kernel can run, so none can pass.
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

std::vector<GateResult> RunParityGate(const DispatchTable& table) {
  std::vector<GateResult> out;
  for (const auto& [knob, variant] : {std::pair{"q4k", table.q4k}, std::pair{"q6k", table.q6k}}) {
    out.push_back({knob, variant, false, 0, 0, 0, "this build has no CUDA kernels to check"});
  }
  return out;
}

}  // namespace kpolicy::runtime
