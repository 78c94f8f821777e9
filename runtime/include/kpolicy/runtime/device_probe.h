// Device probe: the facts of the local GPUs, read through the CUDA runtime
// API, with the driver and runtime versions.
// A fact that cannot be read takes the seed's fallback (compute capability
// 7.0, 8 SMs) and the DeviceFacts say so in `fallbacks`, so explain and the
// startup log show what was assumed. No GPU at all is an error, never a
// made-up device.
//
// A host may mix GPUs (an H100 and an L4), so the runtime and policyctl ask
// for every device (ProbeLocalDevices) and decide for each. DeviceProbe is
// that question as a value, so a test can answer it with a fixed list.
//
// Thread-safety: the probes are safe to call from any thread; they only read
// device attributes (reading free memory creates the device's context).
// SelectLocalDevice changes the calling thread's current device.
#ifndef KPOLICY_RUNTIME_DEVICE_PROBE_H_
#define KPOLICY_RUNTIME_DEVICE_PROBE_H_

#include <functional>
#include <string>
#include <vector>

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

// Facts of every local GPU, element i being CUDA ordinal i (as
// CUDA_VISIBLE_DEVICES numbers them). Fails like ProbeLocalDevice when there
// is none. Cost: ProbeLocalDevice per device.
Expected<std::vector<DeviceFacts>> ProbeLocalDevices();

// Makes GPU `ordinal` the calling thread's current device (cudaSetDevice),
// so that kernels launched next run there. kUnsupported without CUDA.
Status SelectLocalDevice(int ordinal);

// Where the GPUs of a host come from: the CUDA runtime by default; a test
// gives a fixed list (Fixed) to stand for a host it does not have.
// Element i of what `list` returns is GPU i. Kernels run on those devices
// only where `devices_are_real` (a fixed list's are not: its facts decide,
// the CPU path runs).
struct DeviceProbe {
  std::function<Expected<std::vector<DeviceFacts>>()> list = ProbeLocalDevices;
  bool devices_are_real = true;

  // A host whose GPUs are `devices`, in ordinal order; an empty list is a
  // host without a GPU.
  static DeviceProbe Fixed(std::vector<DeviceFacts> devices);
};

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_DEVICE_PROBE_H_
