// Device selection for policyctl: which device a decision is for, from
// --device (the catalog), --cc/--sms, or the local GPU, in that order.
#ifndef KPOLICY_TOOLS_DEVICE_SELECTION_H_
#define KPOLICY_TOOLS_DEVICE_SELECTION_H_

#include <optional>
#include <string>

#include "kpolicy/device.h"
#include "kpolicy/expected.h"

namespace kpolicy::tools {

struct DeviceRequest {
  std::optional<std::string> catalog_key;      // --device
  std::optional<std::string> compute_capability;  // --cc
  std::optional<int> sms;                      // --sms
  std::optional<std::string> fallback_key;     // --fallback-device: when no local GPU
};

// The facts for `request`, or an error (kInvalidArgument, or the probe's)
// whose message says what to pass instead.
Expected<DeviceFacts> SelectDevice(const DeviceRequest& request);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_DEVICE_SELECTION_H_
