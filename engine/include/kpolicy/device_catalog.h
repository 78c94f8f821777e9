// DeviceCatalog: the built-in table of known GPUs (public specifications:
// compute capability, SM count, memory, theoretical bandwidth), so a decision
// can be made and explained for a GPU that is not in this machine.
//
// Thread-safety: immutable static data; all functions are pure.
#ifndef KPOLICY_DEVICE_CATALOG_H_
#define KPOLICY_DEVICE_CATALOG_H_

#include <optional>
#include <span>
#include <string_view>

#include "kpolicy/device.h"

namespace kpolicy {

struct CatalogEntry {
  std::string_view key;           // what --device takes: "h100"
  std::string_view name;          // marketing name
  std::string_view architecture;  // "Hopper"
  int cc_major;
  int cc_minor;
  int num_sms;
  int64_t memory_mib;
  int64_t bandwidth_gbps;

  DeviceFacts ToFacts() const;
};

// Every entry, oldest architecture first.
std::span<const CatalogEntry> DeviceCatalog();

// The entry whose key matches `key` (case-insensitive), if any.
std::optional<CatalogEntry> FindCatalogDevice(std::string_view key);

}  // namespace kpolicy

#endif  // KPOLICY_DEVICE_CATALOG_H_
