// Device selection for policyctl: which devices a decision is for, from
// --device (the catalog), --cc/--sms, or every local GPU, in that order.
#ifndef KPOLICY_TOOLS_DEVICE_SELECTION_H_
#define KPOLICY_TOOLS_DEVICE_SELECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "kpolicy/device.h"
#include "kpolicy/expected.h"
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::tools {

struct DeviceRequest {
  std::optional<std::string> catalog_key;      // --device
  std::optional<std::string> compute_capability;  // --cc
  std::optional<int> sms;                      // --sms
  std::optional<std::string> fallback_key;     // --fallback-device: when no local GPU
};

// The facts for `request`: one device for --device or --cc; without either,
// every GPU `local` lists (element i is GPU i; a host may mix GPUs), or the
// --fallback-device when it lists none. The error (kInvalidArgument, or the
// probe's) says what to pass instead.
Expected<std::vector<DeviceFacts>> SelectDevices(const DeviceRequest& request, const runtime::DeviceProbe& local);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_DEVICE_SELECTION_H_
