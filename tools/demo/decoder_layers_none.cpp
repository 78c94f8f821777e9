#include "decoder_layers_internal.h"

namespace kpolicy::demo::internal {

Expected<LayerRunResult> RunOnGpu(const DispatchTable&, const std::vector<LayerMatrix>&, int, int, int) {
  return Fail(ErrorCode::kUnsupported, "this build has no CUDA kernels");
}

}  // namespace kpolicy::demo::internal
