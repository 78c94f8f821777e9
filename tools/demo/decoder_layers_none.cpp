#include "decoder_layers_internal.h"

namespace kpolicy::runtime::internal {

Expected<LayerRunResult, std::string> RunOnGpu(const DispatchTable&, const std::vector<LayerMatrix>&, int, int, int) {
  return Fail(std::string("this build has no CUDA kernels"));
}

}  // namespace kpolicy::runtime::internal
