// Fleet evaluation for `policyctl fleet` and `policyctl diff`: a policy
// decided for many nodes, evaluated once per distinct set of device facts
// and shared by every node that has it. A fleet of 100,000 nodes holds a few
// dozen distinct GPUs and drivers, so evaluation costs microseconds in all
// and reading the inventory is what is left to pay.
//
// Thread-safety: value types and pure functions.
#ifndef KPOLICY_TOOLS_FLEET_EVALUATION_H_
#define KPOLICY_TOOLS_FLEET_EVALUATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/evaluation_budget.h"
#include "kpolicy/decision.h"
#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/inventory.h"
#include "kpolicy/policy_cases.h"

namespace kpolicy::tools {

// A node named for output with the facts it is evaluated against.
struct FleetNode {
  std::string_view name;               // the inventory's (or the catalog's key)
  const DeviceFacts* facts = nullptr;  // owned by the inventory (or the catalog list)
  const std::vector<std::string>* flags = nullptr;  // may be null
};

// The nodes of an inventory, or the catalog's devices (named by their keys)
// when there is none.
struct FleetNodes {
  std::vector<FleetNode> nodes;
  std::vector<DeviceFacts> catalog_facts;  // backing store without an inventory
};
FleetNodes NodesOfInventory(const Inventory& inventory);
FleetNodes NodesOfCatalog();

// Nodes indexed by distinct facts: every fact a policy can read (cc, SMs,
// name, memory, bandwidth) and the driver, so two nodes share an
// evaluation only when no policy could tell them apart.
struct DistinctFacts {
  std::vector<const DeviceFacts*> facts;  // one per distinct fact-set, first-seen order
  std::vector<int> of_node;               // node i -> index into facts
};
DistinctFacts IndexDistinctFacts(const std::vector<FleetNode>& nodes);

// One evaluation per distinct fact-set, in DistinctFacts order, spent from
// `budget`; once it is spent the list stops, its last entry the failure
// that says so (the caller checks budget.spent()).
std::vector<Expected<Decision>> EvaluateDistinct(const Policy& policy, const DistinctFacts& distinct,
                                                 const Environment& env, EvaluationBudget& budget);

// What decided a knob, for diff's from_rule/to_rule: kpolicy::DeciderName
// (policy_cases.h), the names `policyctl test` expectations use too.
}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_FLEET_EVALUATION_H_
