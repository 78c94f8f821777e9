// Device probe: the facts of a local GPU, read through the CUDA runtime API,
// with the driver and runtime versions.
// A fact that cannot be read takes the seed's fallback (compute capability
// 7.0, 8 SMs) and the DeviceFacts say so in `fallbacks`, so explain and the
// startup log show what was assumed. No GPU at all is an error, never a
// made-up device.
//
// Thread-safety: safe to call from any thread; it only reads device
// attributes (the CUDA runtime creates no context for them).
#ifndef KPOLICY_RUNTIME_DEVICE_PROBE_H_
#define KPOLICY_RUNTIME_DEVICE_PROBE_H_

#include <string>

#include "kpolicy/device.h"
#include "kpolicy/expected.h"

namespace kpolicy::runtime {

// Whether this build was compiled with the CUDA toolkit.
bool BuildHasCuda();

// Facts of GPU `ordinal`. Fails saying why no GPU could be used: kDevice (no
// driver, no device), kNotFound (no such ordinal), kUnsupported (a build
// without CUDA).
// Cost: a few driver queries, milliseconds on the first CUDA call.
Expected<DeviceFacts> ProbeLocalDevice(int ordinal = 0);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_DEVICE_PROBE_H_
