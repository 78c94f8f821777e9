// Inventory: the GPU nodes of a fleet, read from `kubectl get nodes -o json`
// (NVIDIA GPU Feature Discovery labels) or from a plain YAML list, turned
// into the DeviceFacts a policy is evaluated against. A node is never
// guessed: one without GPU labels is listed as skipped with the reason, and
// a product the catalog does not know is evaluated from the facts its labels
// give (compute capability; the SM count, when no label gives it, is the
// engine's documented fallback) and flagged.
//
// Label values are strings ("06", "" for a missing revision); numbers are
// compared as numbers, so "535.104.05" and "535.104.5" are one driver.
//
// Cost: one parse of the file and one pass over its nodes. Thread-safety:
// pure functions; the results are value types.
#ifndef KPOLICY_INVENTORY_H_
#define KPOLICY_INVENTORY_H_

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/device.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/expected.h"

namespace kpolicy {

// An NVIDIA driver version compared part by part as numbers; a part that is
// absent is -1 (so "550" < "550.54").
struct DriverVersion {
  int major = -1;
  int minor = -1;
  int revision = -1;

  bool known() const { return major >= 0; }
  auto operator<=>(const DriverVersion&) const = default;
  // "550.54.15" with the revision zero-padded to two digits as NVIDIA
  // writes it; "" when unknown.
  std::string ToString() const;
};

// Parses "550.54.15", "535.06", "580": digits only in each part.
Expected<DriverVersion> ParseDriverVersion(std::string_view text);

// One MIG device type of a node (GFD's mixed strategy labels
// nvidia.com/mig-<g>g.<mem>gb.*, or the single strategy's overridden
// nvidia.com/gpu.* labels).
struct MigProfile {
  std::string name;      // "1g.10gb"
  int count = 0;         // devices of this type on the node
  int64_t memory_mib = 0;
  int sms = 0;           // 0: not labelled
};

struct MigLayout {
  std::string strategy;  // "single", "mixed", "none"; "" when not labelled
  std::vector<MigProfile> profiles;
};

struct InventoryNode {
  std::string name;
  std::string product;          // as the inventory spells it: "NVIDIA-H100-80GB-HBM3"
  std::optional<std::string> catalog_key;  // the catalog entry it matched
  DeviceFacts facts;            // what the policy is evaluated against
  DriverVersion driver;
  int gpu_count = 0;            // 0: not given
  MigLayout mig;
  std::vector<std::string> flags;  // facts not from the node itself, mismatches
};

struct SkippedNode {
  std::string name;
  std::string reason;
};

struct Inventory {
  std::string file;
  std::vector<InventoryNode> nodes;  // in the file's order
  std::vector<SkippedNode> skipped;
};

// The catalog entry a product name stands for: a catalog key ("h100"), or a
// product as GFD or nvidia-smi spell it ("NVIDIA-H100-80GB-HBM3", "Tesla-T4",
// "NVIDIA-GeForce-RTX-4090", "A100-SXM4-40GB-MIG-1g.5gb"). Vendor words are
// dropped and the longest run of leading words that spells a catalog key
// wins, so "H100-PCIe" is h100-pcie and "A10G" is no entry (it is not an A10).
std::optional<CatalogEntry> MatchCatalogProduct(std::string_view product);

// `kubectl get nodes -o json` (a List of Nodes, or one Node). Errors
// (kInvalidInput) name FILE:LINE:COL for malformed JSON and the JSON path of
// a bad value (.items[3].metadata.labels["nvidia.com/gpu.compute.major"]).
Expected<Inventory> ReadKubectlNodes(std::string_view text, const std::string& file);

// The plain inventory:
//   nodes:
//     - {node: gpu-01, product: h100, count: 8, driver: 550.54.15}
//     - {node: lab-3, product: RTX-PRO-6000, cc: "12.0", sms: 188, memory: 98304}
// Errors (kInvalidInput) name FILE:LINE:COL.
Expected<Inventory> ReadPlainInventory(std::string_view text, const std::string& file);

// Reads FILE and picks the format: JSON when its first non-blank character
// is '{', else the plain YAML inventory. kUnreadable when it cannot be read.
Expected<Inventory> LoadInventoryFile(const std::string& path);

}  // namespace kpolicy

#endif  // KPOLICY_INVENTORY_H_
