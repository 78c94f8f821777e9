#include "fleet_evaluation.h"

#include <unordered_map>

#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"

namespace kpolicy::tools {
namespace {

// The facts a policy reads, as one string, fields separated by the ASCII
// unit separator (no GPU product name contains it).
std::string FactKey(const DeviceFacts& f) {
  std::string key = f.name;
  for (int64_t n : {int64_t{f.cc_major}, int64_t{f.cc_minor}, int64_t{f.num_sms}, f.memory_mib, f.bandwidth_gbps}) {
    key += '\x1f';
    key += std::to_string(n);
  }
  key += '\x1f';
  key += f.driver_version;
  return key;
}

}  // namespace

FleetNodes NodesOfInventory(const Inventory& inventory) {
  FleetNodes out;
  out.nodes.reserve(inventory.nodes.size());
  for (const InventoryNode& n : inventory.nodes) out.nodes.push_back({n.name, &n.facts, &n.flags});
  return out;
}

FleetNodes NodesOfCatalog() {
  FleetNodes out;
  for (const CatalogEntry& e : DeviceCatalog()) out.catalog_facts.push_back(e.ToFacts());
  const auto catalog = DeviceCatalog();
  for (size_t i = 0; i < catalog.size(); ++i) {
    out.nodes.push_back({catalog[i].key, &out.catalog_facts[i], nullptr});
  }
  return out;
}

DistinctFacts IndexDistinctFacts(const std::vector<FleetNode>& nodes) {
  DistinctFacts out;
  out.of_node.reserve(nodes.size());
  std::unordered_map<std::string, int> seen;
  for (const FleetNode& n : nodes) {
    auto [it, inserted] = seen.try_emplace(FactKey(*n.facts), static_cast<int>(out.facts.size()));
    if (inserted) out.facts.push_back(n.facts);
    out.of_node.push_back(it->second);
  }
  return out;
}

std::vector<Expected<Decision>> EvaluateDistinct(const Policy& policy, const DistinctFacts& distinct,
                                                 const Environment& env, EvaluationBudget& budget) {
  std::vector<Expected<Decision>> out;
  out.reserve(distinct.facts.size());
  for (const DeviceFacts* facts : distinct.facts) {
    out.push_back(Evaluate(policy, *facts, ModelFacts{}, env, {}, nullptr, &budget));
    if (budget.spent()) break;
  }
  return out;
}

}  // namespace kpolicy::tools
