// The probe for builds without the CUDA toolkit: there is no way to ask.
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::runtime {
namespace {

Error NoCuda() {
  return Error(ErrorCode::kUnsupported, "this build has no CUDA support, so it cannot probe a GPU");
}

}  // namespace

bool BuildHasCuda() { return false; }

Expected<DeviceFacts> ProbeLocalDevice(int) { return Fail(NoCuda()); }

Expected<std::vector<DeviceFacts>> ProbeLocalDevices() { return Fail(NoCuda()); }

Status SelectLocalDevice(int) { return Fail(NoCuda()); }

}  // namespace kpolicy::runtime
