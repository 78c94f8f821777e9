// Inventories (kubectl get nodes -o json with GPU Feature Discovery labels,
// the plain YAML list), `policyctl fleet` and `policyctl diff`, on the
// fixtures in tests/fleet/data and on inventories planted per test.
#define BOOST_TEST_MODULE fleet
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "commands.h"
#include "kpolicy/inventory.h"
#include "kpolicy/json.h"

namespace kpolicy::tools {
namespace {

namespace fs = std::filesystem;

using Run = CapturedRun;

Run Policyctl(const std::vector<std::string>& args) { return RunPolicyctlCaptured(args); }

std::string Source(const std::string& relative) { return std::string(KPOLICY_SOURCE_DIR) + "/" + relative; }
const std::string kNodes = Source("tests/fleet/data/kubectl_nodes.json");
const std::string kPlain = Source("tests/fleet/data/inventory.yaml");

struct TempFile {
  fs::path path;
  TempFile(const std::string& text, const std::string& ext) {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-fleet-" + std::to_string(rd()) + ext);
    std::ofstream(path) << text;
  }
  ~TempFile() { fs::remove(path); }
  std::string str() const { return path.string(); }
};

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON (" + v.error().message + "): " + text.substr(0, 200));
  return std::move(v).value();
}

const InventoryNode& NodeNamed(const Inventory& inv, const std::string& name) {
  for (const InventoryNode& n : inv.nodes) {
    if (n.name == name) return n;
  }
  BOOST_FAIL("no node " + name);
  return inv.nodes.front();
}

// The error's text, or "" when there is none (a message argument is built
// even when the check passes).
template <typename T>
std::string ErrorText(const Expected<T>& e) {
  return e.ok() ? "" : e.error().ToString();
}

std::vector<std::string> Strings(const JsonValue& array) {
  std::vector<std::string> out;
  for (const JsonValue& v : array.items) out.push_back(v.text);
  return out;
}

// A one-node kubectl List with the given labels (JSON object text).
std::string OneNode(const std::string& labels) {
  return "{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"n1\",\"labels\":" + labels + "}}]}";
}

BOOST_AUTO_TEST_SUITE(inventories)

BOOST_AUTO_TEST_CASE(kubectl_nodes_read_as_gfd_labels_say) {
  auto inv = LoadInventoryFile(kNodes);
  BOOST_REQUIRE_MESSAGE(inv.ok(), ErrorText(inv));
  BOOST_TEST(inv->nodes.size() == 11u);
  BOOST_REQUIRE(inv->skipped.size() == 1u);
  BOOST_TEST(inv->skipped[0].name == "cpu-1");
  BOOST_TEST(inv->skipped[0].reason.find("no NVIDIA GPU Feature Discovery labels") != std::string::npos);

  const InventoryNode& h100 = NodeNamed(*inv, "h100-a");
  BOOST_TEST(h100.catalog_key.value_or("") == "h100");
  BOOST_TEST(h100.facts.cc() == 90);
  BOOST_TEST(h100.facts.num_sms == 132);
  BOOST_TEST(h100.facts.memory_mib == 81559);  // the label, not the catalog's 81920
  BOOST_TEST(h100.gpu_count == 8);
  BOOST_TEST(h100.flags.empty());

  // Deprecated driver labels only, and "05" vs "5": one driver, as numbers.
  BOOST_TEST((NodeNamed(*inv, "h100-c").driver == h100.driver));
  BOOST_TEST((NodeNamed(*inv, "l4-1").driver == NodeNamed(*inv, "l4-2").driver));
  BOOST_TEST(NodeNamed(*inv, "l4-2").driver.ToString() == "535.104.05");
  const DriverVersion t4 = NodeNamed(*inv, "t4-old").driver;  // minor "06", revision ""
  BOOST_TEST(t4.major == 535);
  BOOST_TEST(t4.minor == 6);
  BOOST_TEST(t4.revision == -1);
  BOOST_TEST((t4 < NodeNamed(*inv, "l4-1").driver));

  BOOST_TEST(NodeNamed(*inv, "ws-4090").catalog_key.value_or("") == "rtx4090");
  BOOST_TEST(NodeNamed(*inv, "spark-1").catalog_key.value_or("") == "gb10");
  BOOST_TEST(NodeNamed(*inv, "t4-old").catalog_key.value_or("") == "t4");
}

BOOST_AUTO_TEST_CASE(mig_nodes_carry_their_slices) {
  auto inv = LoadInventoryFile(kNodes);
  BOOST_REQUIRE(inv.ok());
  const InventoryNode& single = NodeNamed(*inv, "a100-mig");
  BOOST_TEST(single.catalog_key.value_or("") == "a100");
  BOOST_TEST(single.mig.strategy == "single");
  BOOST_REQUIRE(single.mig.profiles.size() == 1u);
  BOOST_TEST(single.mig.profiles[0].name == "1g.10gb");
  BOOST_TEST(single.mig.profiles[0].count == 56);
  BOOST_TEST(single.facts.num_sms == 14);  // a process on the slice sees 14 SMs
  BOOST_TEST(single.facts.memory_mib == 9728);
  const InventoryNode& mixed = NodeNamed(*inv, "a100-mixed");
  BOOST_TEST(mixed.mig.strategy == "mixed");
  BOOST_REQUIRE(mixed.mig.profiles.size() == 2u);
  BOOST_TEST(mixed.mig.profiles[1].name == "3g.40gb");
  BOOST_TEST(mixed.mig.profiles[1].sms == 42);
  BOOST_TEST(mixed.facts.num_sms == 108);  // the whole GPU's
}

BOOST_AUTO_TEST_CASE(product_missing_from_catalog_is_evaluated_from_facts_and_flagged) {
  auto inv = LoadInventoryFile(kNodes);
  BOOST_REQUIRE(inv.ok());
  const InventoryNode& a10g = NodeNamed(*inv, "a10g-1");
  BOOST_TEST(!a10g.catalog_key.has_value());  // not the A10 (72 SMs)
  BOOST_TEST(a10g.facts.cc() == 86);
  BOOST_TEST(a10g.facts.num_sms == kFallbackNumSms);
  BOOST_TEST(a10g.facts.name == "NVIDIA-A10G");
  BOOST_REQUIRE(a10g.flags.size() == 1u);
  BOOST_TEST(a10g.flags[0].find("not in the catalog") != std::string::npos);
  BOOST_TEST(a10g.flags[0].find("assumed 8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(catalog_products_match_by_leading_words) {
  BOOST_TEST(MatchCatalogProduct("NVIDIA-H100-PCIe")->key == "h100-pcie");
  BOOST_TEST(MatchCatalogProduct("NVIDIA-H100-80GB-HBM3")->key == "h100");
  BOOST_TEST(MatchCatalogProduct("Tesla-V100-SXM2-16GB")->key == "v100");
  BOOST_TEST(MatchCatalogProduct("NVIDIA-GeForce-RTX-2080-Ti")->key == "rtx2080ti");
  BOOST_TEST(MatchCatalogProduct("NVIDIA-L40S")->key == "l40s");
  BOOST_TEST(!MatchCatalogProduct("NVIDIA-L40").has_value());
  BOOST_TEST(!MatchCatalogProduct("NVIDIA-A10G").has_value());
}

BOOST_AUTO_TEST_CASE(plain_yaml_inventory) {
  auto inv = LoadInventoryFile(kPlain);
  BOOST_REQUIRE_MESSAGE(inv.ok(), ErrorText(inv));
  BOOST_TEST(inv->nodes.size() == 5u);
  BOOST_TEST(NodeNamed(*inv, "gpu-01").flags.empty());  // a catalog key needs no cc
  const InventoryNode& lab = NodeNamed(*inv, "lab-3");
  BOOST_TEST(lab.facts.cc() == 120);
  BOOST_TEST(lab.facts.num_sms == 188);
  BOOST_TEST(lab.flags.size() == 1u);
  BOOST_REQUIRE(inv->skipped.size() == 1u);
  BOOST_TEST(inv->skipped[0].name == "mystery");  // unknown product, no cc: never guessed
}

BOOST_AUTO_TEST_CASE(malformed_json_names_line_and_column) {
  TempFile f("{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"metadata\": {\"name\": \"a\",}}\n  ]\n}\n", ".json");
  auto inv = LoadInventoryFile(f.str());
  BOOST_REQUIRE(!inv.ok());
  BOOST_TEST((inv.error().code == ErrorCode::kInvalidInput));
  BOOST_TEST(inv.error().place.line == 4);
  BOOST_TEST(inv.error().place.column == 31);  // the '}' after the trailing comma
  BOOST_TEST(inv.error().ToString().find(f.str() + ":4:31: error: not JSON") == 0u, inv.error().ToString());
}

BOOST_AUTO_TEST_CASE(bad_label_value_names_json_path_and_node) {
  TempFile f(OneNode("{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\","
                     "\"nvidia.com/gpu.compute.major\":\"abc\",\"nvidia.com/gpu.compute.minor\":\"0\"}"),
             ".json");
  auto inv = LoadInventoryFile(f.str());
  BOOST_REQUIRE(!inv.ok());
  const std::string message = inv.error().ToString();
  BOOST_TEST(message.find(".items[0].metadata.labels[\"nvidia.com/gpu.compute.major\"]") != std::string::npos,
             message);
  BOOST_TEST(message.find("node 'n1'") != std::string::npos, message);
  BOOST_TEST(message.find("'abc' is not a whole number") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(half_a_compute_capability_is_an_error) {
  TempFile f(OneNode("{\"nvidia.com/gpu.compute.major\":\"9\"}"), ".json");
  auto inv = LoadInventoryFile(f.str());
  BOOST_REQUIRE(!inv.ok());
  BOOST_TEST(inv.error().ToString().find("gpu.compute.minor") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_yaml_names_line_and_column) {
  TempFile f("nodes:\n  - {node: a, product: h100}\n  - {node: b, prodcut: l4}\n  - {node: c, sms: many, cc: \"8.0\"}\n",
             ".yaml");
  auto inv = LoadInventoryFile(f.str());
  BOOST_REQUIRE(!inv.ok());
  const std::string message = inv.error().ToString();
  BOOST_TEST(message.find(f.str() + ":3:") != std::string::npos, message);  // the misspelt key
  BOOST_TEST(message.find("prodcut") != std::string::npos, message);
  BOOST_TEST(message.find(f.str() + ":4:") != std::string::npos, message);  // sms: many
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fleet)

BOOST_AUTO_TEST_CASE(groups_identical_decisions) {
  Run r = Policyctl({"fleet", "--inventory", kNodes, "--format", "json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.err);
  const JsonValue doc = MustParse(r.out);
  const JsonValue* nodes = doc.Find("nodes");
  const JsonValue* groups = doc.Find("groups");
  const JsonValue* skipped = doc.Find("skipped");
  BOOST_REQUIRE(nodes && groups && skipped);
  BOOST_TEST(nodes->items.size() == 11u);
  BOOST_REQUIRE(skipped->items.size() == 1u);
  BOOST_TEST(skipped->items[0].Find("name")->text == "cpu-1");
  // Every node in exactly one group, group sizes sum to the nodes.
  size_t total = 0;
  for (const JsonValue& g : groups->items) {
    total += g.Find("nodes")->items.size();
    BOOST_TEST(std::stoul(g.Find("count")->text) == g.Find("nodes")->items.size());
  }
  BOOST_TEST(total == nodes->items.size());
  // H100s (all three driver spellings) decide alike; the L4s and the RTX 4090
  // (both sm_89) decide alike; GB10 is alone (q4k Mwv on Blackwell).
  bool h100_group = false, gb10_alone = false, ada_group = false;
  for (const JsonValue& g : groups->items) {
    const auto names = Strings(*g.Find("nodes"));
    if (names == std::vector<std::string>{"h100-a", "h100-b", "h100-c"}) h100_group = true;
    if (names == std::vector<std::string>{"l4-1", "l4-2", "ws-4090"}) ada_group = true;
    if (names == std::vector<std::string>{"spark-1"}) {
      gb10_alone = g.Find("decision")->Find("q4k")->text == "Mwv";
    }
  }
  BOOST_TEST(h100_group);
  BOOST_TEST(ada_group);
  BOOST_TEST(gb10_alone);
  // The first node's decision is the eval decision of the same device.
  const JsonValue& first = nodes->items[0];
  BOOST_TEST(first.Find("name")->text == "h100-a");
  // Default v2: q4k Mwv where no record proves HwDp4a's model-level parity.
  BOOST_TEST(first.Find("decision")->Find("q4k")->text == "Mwv");
  BOOST_TEST(first.Find("decision")->Find("fp8_prefill")->boolean == true);
}

BOOST_AUTO_TEST_CASE(flagged_node_carries_its_flag) {
  Run r = Policyctl({"fleet", "--inventory", kNodes, "--format", "json"});
  const JsonValue doc = MustParse(r.out);
  bool found = false;
  for (const JsonValue& n : doc.Find("nodes")->items) {
    if (n.Find("name")->text != "a10g-1") continue;
    found = true;
    BOOST_REQUIRE(n.Find("flags"));
    BOOST_TEST(n.Find("flags")->items[0].text.find("not in the catalog") != std::string::npos);
  }
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(env_applies_to_every_node) {
  Run r = Policyctl({"fleet", "--inventory", kNodes, "--env", "FP8_PREFILL=0", "--format", "json"});
  BOOST_REQUIRE(r.status == 0);
  const JsonValue doc = MustParse(r.out);
  for (const JsonValue& n : doc.Find("nodes")->items) {
    BOOST_TEST(n.Find("decision")->Find("fp8_prefill")->boolean == false);
  }
}

BOOST_AUTO_TEST_CASE(text_lists_groups_flags_and_skipped) {
  Run r = Policyctl({"fleet", "--inventory", kNodes});
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(r.out.find("3 nodes: h100-a, h100-b, h100-c") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("a10g-1: product 'NVIDIA-A10G' is not in the catalog") != std::string::npos);
  BOOST_TEST(r.out.find("cpu-1: no NVIDIA GPU Feature Discovery labels") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_inventory_exits_2) {
  TempFile f("{\"items\": [", ".json");
  Run r = Policyctl({"fleet", "--inventory", f.str(), "--format", "json"});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find(f.str() + ":1:") == 0u, r.err);
  BOOST_TEST(Policyctl({"fleet", "--inventory", "/nonexistent/nodes.json"}).status == 2);
  BOOST_TEST(Policyctl({"fleet"}).status == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(diff)

const std::string kDefault = Source("policies/default.yaml");
const std::string kGuard = Source("policies/fleets/blackwell-fp8-guard.yaml");

BOOST_AUTO_TEST_CASE(same_policy_changes_nothing) {
  Run r = Policyctl({"diff", "--policy", kDefault, "--policy", kDefault, "--format", "json"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(MustParse(r.out).Find("changes")->items.empty());
}

BOOST_AUTO_TEST_CASE(overlay_changes_blackwell_only_with_rules_on_both_sides) {
  Run r = Policyctl({"diff", "--policy", kDefault, "--policy", kGuard, "--format", "json"});
  BOOST_TEST(r.status == 1);
  const JsonValue doc = MustParse(r.out);
  std::set<std::string> nodes;
  bool prefill_seen = false;
  for (const JsonValue& c : doc.Find("changes")->items) {
    nodes.insert(c.Find("node")->text);
    if (c.Find("knob")->text == "fp8_prefill") {
      prefill_seen = true;
      BOOST_TEST(c.Find("from")->boolean == true);
      BOOST_TEST(c.Find("to")->boolean == false);
      BOOST_TEST(c.Find("from_rule")->text == "fp8-tensor-cores");
      BOOST_TEST(c.Find("to_rule")->text == "blackwell-fp8-warmup-crash");
    }
  }
  BOOST_TEST(prefill_seen);
  // The overlay's rule is device.cc >= 100: the catalog's Blackwell GPUs.
  BOOST_TEST((nodes == std::set<std::string>{"b200", "rtx5090", "gb10"}));
}

BOOST_AUTO_TEST_CASE(planted_change_on_an_inventory) {
  // A planted overlay: Ada (cc 89) loses FP8 prefill; the env override wins over it.
  TempFile overlay("kpolicy: 1\nname: planted\nversion: 1.0.0\nextends: " + kDefault +
                       "\nknobs:\n  fp8_prefill:\n    rules:\n      - id: no-fp8-on-ada\n        before: fp8-tensor-cores\n"
                       "        when: device.cc == 89\n        value: false\n",
                   ".yaml");
  Run r = Policyctl({"diff", "--policy", kDefault, "--policy", overlay.str(), "--inventory", kNodes,
                     "--format", "json"});
  BOOST_REQUIRE_MESSAGE(r.status == 1, r.err + r.out);
  std::set<std::string> prefill_nodes;
  const JsonValue doc = MustParse(r.out);
  for (const JsonValue& c : doc.Find("changes")->items) {
    if (c.Find("knob")->text != "fp8_prefill") continue;
    prefill_nodes.insert(c.Find("node")->text);
    BOOST_TEST(c.Find("to_rule")->text == "no-fp8-on-ada");
  }
  BOOST_TEST((prefill_nodes == std::set<std::string>{"l4-1", "l4-2", "ws-4090"}));
  // With FP8_PREFILL=1 on every node, the override decides both sides: no change.
  Run pinned = Policyctl({"diff", "--policy", kDefault, "--policy", overlay.str(), "--inventory", kNodes,
                          "--env", "FP8_PREFILL=1", "--format", "json"});
  BOOST_TEST(pinned.status == 0, pinned.out);
}

BOOST_AUTO_TEST_CASE(text_groups_changes) {
  Run r = Policyctl({"diff", "--policy", kDefault, "--policy", kGuard});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.out.find("fp8_prefill: true -> false   (fp8-tensor-cores -> blackwell-fp8-warmup-crash)") !=
                 std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("3 nodes: b200, rtx5090, gb10") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  BOOST_TEST(Policyctl({"diff"}).status == 2);
  BOOST_TEST(Policyctl({"diff", "--policy", "/nonexistent.yaml", "--policy", kDefault}).status == 2);
  BOOST_TEST(Policyctl({"diff", "--policy", kDefault, "--policy", kGuard, "--format", "xml"}).status == 2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy::tools
