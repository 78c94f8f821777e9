// The probe for builds without the CUDA toolkit: there is no way to ask.
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::runtime {

bool BuildHasCuda() { return false; }

Expected<DeviceFacts> ProbeLocalDevice(int) {
  return Fail(ErrorCode::kUnsupported, "this build has no CUDA support, so it cannot probe a GPU");
}

}  // namespace kpolicy::runtime
