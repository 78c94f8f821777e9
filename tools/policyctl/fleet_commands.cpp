#include "fleet_commands.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "exit_codes.h"
#include "fleet_evaluation.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/explain.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy::tools {
namespace po = boost::program_options;
namespace {

// In text output a group or change lists this many node names, then a count.
constexpr size_t kNamesShown = 8;

// ---- command-line plumbing shared by fleet and diff -------------------------

struct FleetArgs {
  po::variables_map vm;
  std::string format;
  Environment env;
};

int FleetUsage(Io& io, const std::string& command, const std::string& message) {
  io.err << "policyctl " << command << ": error: " << message << "\n"
         << "Try 'policyctl " << command << " --help'.\n";
  return kExitUsage;
}

// Parses the options; nullopt with `status` set when the command is done
// (help printed, or a usage error).
std::optional<FleetArgs> ParseFleetArgs(const std::vector<std::string>& args, po::options_description& options,
                                        const std::string& command, const char* help, Io& io, int& status) {
  options.add_options()
      ("help,h", "show this help")
      ("env", po::value<std::vector<std::string>>(),
       "NAME=VALUE every node sees (repeatable); nothing else of this host's environment is read")
      ("format", po::value<std::string>()->default_value("text"), "text or json");
  FleetArgs out;
  auto parsed = ParseCommandLine(args, options);
  if (!parsed.ok()) {
    status = FleetUsage(io, command, parsed.error().message);
    return std::nullopt;
  }
  out.vm = std::move(parsed).value();
  if (out.vm.count("help")) {
    io.out << options << help;
    status = kExitOk;
    return std::nullopt;
  }
  out.format = out.vm["format"].as<std::string>();
  if (out.format != "text" && out.format != "json") {
    status = FleetUsage(io, command, "--format is text or json, not '" + out.format + "'");
    return std::nullopt;
  }
  if (out.vm.count("env")) {
    for (const std::string& kv : out.vm["env"].as<std::vector<std::string>>()) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        status = FleetUsage(io, command, "--env takes NAME=VALUE, not '" + kv + "'");
        return std::nullopt;
      }
      out.env.Set(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return out;
}

// A policy file, or the built-in default when `path` is empty. On failure
// prints the diagnostics and sets `status` (2 unreadable, 1 invalid).
std::optional<Policy> LoadPolicyOrDefault(const std::string& path, Io& io, int& status) {
  auto loaded = path.empty() ? LoadPolicyText(BuiltinDefaultPolicyText(), std::string(kBuiltinDefaultPolicyName))
                             : LoadPolicyFile(path);
  if (!loaded.ok()) {
    io.err << loaded.error().ToString() << "\n";
    status = loaded.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo;
    return std::nullopt;
  }
  return std::move(loaded).value();
}

std::optional<Inventory> LoadInventoryOrReport(const std::string& path, Io& io) {
  auto inventory = LoadInventoryFile(path);
  if (!inventory.ok()) {
    io.err << inventory.error().ToString() << "\n";
    return std::nullopt;
  }
  return std::move(inventory).value();
}

std::string DecisionObjectJson(const Decision& d) {
  JsonWriter w;
  WriteDecisionObject(w, d);
  return w.text();
}

std::string NameList(const std::vector<std::string_view>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) {
    out += i ? ", " : "";
    out += names[i];
  }
  if (names.size() > kNamesShown) out += ", ... (" + std::to_string(names.size() - kNamesShown) + " more)";
  return out;
}

std::string PolicyTitle(const Policy& p) { return p.name + " " + p.version + " (" + p.file + ")"; }

// ---- fleet ------------------------------------------------------------------

constexpr const char* kFleetHelp =
    "Decides the policy for every GPU node of the inventory (`kubectl get nodes -o json` with\n"
    "GPU Feature Discovery labels, or the plain YAML inventory) and groups nodes whose\n"
    "decisions are identical. Nodes without GPU labels are listed as skipped. Exit 0; 1 when\n"
    "the policy is invalid or cannot be decided for some node; 2 usage or a bad inventory.\n";

// The inventory's distinct devices times the policy's size passed the
// evaluation budget: the last evaluation's error says where it stopped.
int OutOfBudget(const std::vector<Expected<Decision>>& decisions, Io& io) {
  io.err << decisions.back().error().ToString() << "\n";
  return kExitUsage;
}

struct FleetGroup {
  int decision = -1;  // index into the distinct evaluations
  std::vector<std::string_view> nodes;  // names owned by the inventory
};

int RunFleetCommand(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl fleet --inventory FILE [OPTIONS]");
  options.add_options()
      ("inventory", po::value<std::string>(), "kubectl get nodes -o json output, or a plain YAML inventory")
      ("policy", po::value<std::string>(), "policy file (default: the built-in default policy)");
  int status = kExitOk;
  auto parsed = ParseFleetArgs(args, options, "fleet", kFleetHelp, io, status);
  if (!parsed) return status;
  const po::variables_map& vm = parsed->vm;
  if (!vm.count("inventory")) return FleetUsage(io, "fleet", "--inventory FILE is required");
  auto policy = LoadPolicyOrDefault(vm.count("policy") ? vm["policy"].as<std::string>() : "", io, status);
  if (!policy) return status;
  auto inventory = LoadInventoryOrReport(vm["inventory"].as<std::string>(), io);
  if (!inventory) return kExitUsage;

  const FleetNodes nodes = NodesOfInventory(*inventory);
  const DistinctFacts distinct = IndexDistinctFacts(nodes.nodes);
  EvaluationBudget budget;
  const std::vector<Expected<Decision>> decisions = EvaluateDistinct(*policy, distinct, parsed->env, budget);
  if (budget.spent()) return OutOfBudget(decisions, io);

  // Identical decisions from different facts (an H100 and an H200) share a
  // group: the key is the decision's JSON object.
  std::vector<std::string> decision_json(decisions.size());
  std::vector<int> group_of(decisions.size(), -1);
  std::map<std::string, int> group_by_json;
  std::vector<FleetGroup> groups;
  for (size_t i = 0; i < decisions.size(); ++i) {
    if (!decisions[i].ok()) continue;
    decision_json[i] = DecisionObjectJson(*decisions[i]);
    auto [it, inserted] = group_by_json.try_emplace(decision_json[i], static_cast<int>(groups.size()));
    if (inserted) groups.push_back({static_cast<int>(i), {}});
    group_of[i] = it->second;
  }
  std::vector<SkippedNode> skipped = inventory->skipped;
  for (size_t n = 0; n < nodes.nodes.size(); ++n) {
    const int d = distinct.of_node[n];
    if (group_of[d] < 0) {
      skipped.push_back({std::string(nodes.nodes[n].name), "the policy cannot be decided: " + decisions[d].error().ToString()});
      status = kExitNo;
      continue;
    }
    groups[group_of[d]].nodes.push_back(nodes.nodes[n].name);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const FleetGroup& a, const FleetGroup& b) { return a.nodes.size() > b.nodes.size(); });

  if (parsed->format == "json") {
    std::string out;
    out.reserve(nodes.nodes.size() * (decision_json.empty() ? 64 : decision_json[0].size() + 48));
    out += "{\"nodes\":[";
    bool first = true;
    for (size_t n = 0; n < nodes.nodes.size(); ++n) {
      const int d = distinct.of_node[n];
      if (group_of[d] < 0) continue;
      out += first ? "" : ",";
      first = false;
      out += "{\"name\":";
      out += JsonQuote(nodes.nodes[n].name);
      out += ",\"decision\":";
      out += decision_json[d];
      if (const auto* flags = nodes.nodes[n].flags; flags && !flags->empty()) {
        out += ",\"flags\":[";
        for (size_t f = 0; f < flags->size(); ++f) out += (f ? "," : "") + JsonQuote((*flags)[f]);
        out += "]";
      }
      out += "}";
    }
    out += "],\"groups\":[";
    for (size_t g = 0; g < groups.size(); ++g) {
      out += (g ? ",{" : "{");
      out += "\"decision\":" + decision_json[groups[g].decision];
      out += ",\"count\":" + std::to_string(groups[g].nodes.size()) + ",\"nodes\":[";
      for (size_t i = 0; i < groups[g].nodes.size(); ++i) out += (i ? "," : "") + JsonQuote(groups[g].nodes[i]);
      out += "]}";
    }
    out += "],\"skipped\":[";
    for (size_t s = 0; s < skipped.size(); ++s) {
      out += (s ? ",{" : "{");
      out += "\"name\":" + JsonQuote(skipped[s].name) + ",\"reason\":" + JsonQuote(skipped[s].reason) + "}";
    }
    out += "]}\n";
    io.out << out;
    return status;
  }

  io.out << "policy     " << PolicyTitle(*policy) << "\n"
         << "inventory  " << inventory->file << ": " << nodes.nodes.size() << " GPU nodes, "
         << distinct.facts.size() << " distinct devices, " << groups.size() << " distinct decisions, "
         << skipped.size() << " skipped\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    const Decision& d = *decisions[groups[g].decision];
    io.out << "\ngroup " << g + 1 << ": " << groups[g].nodes.size() << " node"
           << (groups[g].nodes.size() == 1 ? "" : "s") << ": " << NameList(groups[g].nodes) << "\n ";
    for (const Knob& k : policy->knobs) io.out << " " << k.name << "=" << d.ValueText(k);
    io.out << "\n";
  }
  bool flagged_header = false;
  for (const FleetNode& n : nodes.nodes) {
    if (!n.flags || n.flags->empty()) continue;
    if (!flagged_header) io.out << "\nflagged\n";
    flagged_header = true;
    for (const std::string& f : *n.flags) io.out << "  " << n.name << ": " << f << "\n";
  }
  if (!skipped.empty()) io.out << "\nskipped\n";
  for (const SkippedNode& s : skipped) io.out << "  " << s.name << ": " << s.reason << "\n";
  return status;
}

// ---- diff -------------------------------------------------------------------

constexpr const char* kDiffHelp =
    "For each node (the inventory's, or the catalog's devices without one) and each knob whose\n"
    "value differs between policy A and policy B: the old and new value and the rule or\n"
    "override that decided each (from_rule, to_rule: a rule id, env:VAR, default). One\n"
    "--policy compares the built-in default with it. Exit 0 when no decision changes, 1 when\n"
    "some do (or a node cannot be decided by one side), 2 usage or unreadable input.\n";

struct Change {
  std::string node, knob, from, to, from_rule, to_rule;
};

// The changes between two decisions of one device, knob by knob; a knob
// only one policy has shows "(absent)" on the other side.
std::vector<Change> CompareDecisions(const Decision& a, const Decision& b) {
  std::vector<Change> out;
  auto side = [](const Decision& d, const std::string& knob, std::string& value, std::string& rule) {
    for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
      const Knob& k = d.policy->knobs[i];
      if (k.name != knob) continue;
      value = d.ValueText(k);
      rule = DeciderName(k, d.knobs[i]);
      return;
    }
    value = "(absent)";
    rule = "";
  };
  std::vector<std::string> knobs;
  for (const Knob& k : a.policy->knobs) knobs.push_back(k.name);
  for (const Knob& k : b.policy->knobs) {
    if (!a.policy->FindKnob(k.name)) knobs.push_back(k.name);
  }
  for (const std::string& knob : knobs) {
    Change c;
    c.knob = knob;
    side(a, knob, c.from, c.from_rule);
    side(b, knob, c.to, c.to_rule);
    if (c.from != c.to) out.push_back(std::move(c));
  }
  return out;
}

// The JSON value of a knob's side: the value typed as eval writes it.
void WriteSide(std::string& out, const Decision& d, const std::string& knob) {
  const Knob* k = d.policy->FindKnob(knob);
  if (!k) {
    out += "null";
    return;
  }
  switch (k->type.kind) {
    case TypeKind::kBool: out += d.value(*k).number ? "true" : "false"; break;
    case TypeKind::kInt: out += std::to_string(d.value(*k).number); break;
    case TypeKind::kString:
    case TypeKind::kEnum:
    case TypeKind::kVersion: out += JsonQuote(d.ValueText(*k)); break;
  }
}

int RunDiffCommand(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl diff --policy A --policy B [OPTIONS]");
  options.add_options()
      ("policy", po::value<std::vector<std::string>>(), "policy A then policy B (one: the built-in default is A)")
      ("inventory", po::value<std::string>(), "nodes to compare on (default: every catalog device)");
  int status = kExitOk;
  auto parsed = ParseFleetArgs(args, options, "diff", kDiffHelp, io, status);
  if (!parsed) return status;
  const po::variables_map& vm = parsed->vm;
  std::vector<std::string> files;
  if (vm.count("policy")) files = vm["policy"].as<std::vector<std::string>>();
  if (files.empty() || files.size() > 2) return FleetUsage(io, "diff", "give --policy A --policy B (or one --policy)");
  if (files.size() == 1) files.insert(files.begin(), "");
  auto a = LoadPolicyOrDefault(files[0], io, status);
  auto b = a ? LoadPolicyOrDefault(files[1], io, status) : std::nullopt;
  if (!a || !b) return status == kExitNo ? kExitUsage : status;

  std::optional<Inventory> inventory;
  if (vm.count("inventory")) {
    inventory = LoadInventoryOrReport(vm["inventory"].as<std::string>(), io);
    if (!inventory) return kExitUsage;
  }
  const FleetNodes nodes = inventory ? NodesOfInventory(*inventory) : NodesOfCatalog();
  const DistinctFacts distinct = IndexDistinctFacts(nodes.nodes);
  EvaluationBudget budget;  // both policies together
  const auto from = EvaluateDistinct(*a, distinct, parsed->env, budget);
  if (budget.spent()) return OutOfBudget(from, io);
  const auto to = EvaluateDistinct(*b, distinct, parsed->env, budget);
  if (budget.spent()) return OutOfBudget(to, io);

  // Per distinct device: its changes (node left empty) or why a side failed.
  std::vector<std::vector<Change>> changes(distinct.facts.size());
  std::vector<std::string> failure(distinct.facts.size());
  for (size_t i = 0; i < distinct.facts.size(); ++i) {
    if (from[i].ok() && to[i].ok()) {
      changes[i] = CompareDecisions(*from[i], *to[i]);
    } else {
      failure[i] = (from[i].ok() ? "policy B: " + to[i].error().ToString()
                                 : "policy A: " + from[i].error().ToString());
    }
  }
  size_t changed_nodes = 0, failed_nodes = 0;
  for (size_t n = 0; n < nodes.nodes.size(); ++n) {
    const int d = distinct.of_node[n];
    changed_nodes += !changes[d].empty();
    failed_nodes += !failure[d].empty();
  }
  const int exit = (changed_nodes + failed_nodes) > 0 ? kExitNo : kExitOk;

  if (parsed->format == "json") {
    std::string out = "{\"changes\":[";
    bool first = true;
    for (size_t n = 0; n < nodes.nodes.size(); ++n) {
      const int d = distinct.of_node[n];
      for (const Change& c : changes[d]) {
        out += first ? "{" : ",{";
        first = false;
        out += "\"node\":" + JsonQuote(nodes.nodes[n].name) + ",\"knob\":" + JsonQuote(c.knob) + ",\"from\":";
        WriteSide(out, *from[d], c.knob);
        out += ",\"to\":";
        WriteSide(out, *to[d], c.knob);
        out += ",\"from_rule\":" + (c.from_rule.empty() ? std::string("null") : JsonQuote(c.from_rule));
        out += ",\"to_rule\":" + (c.to_rule.empty() ? std::string("null") : JsonQuote(c.to_rule)) + "}";
      }
    }
    out += "],\"errors\":[";
    first = true;
    for (size_t n = 0; n < nodes.nodes.size(); ++n) {
      const std::string& f = failure[distinct.of_node[n]];
      if (f.empty()) continue;
      out += (first ? "{" : ",{") + std::string("\"node\":") + JsonQuote(nodes.nodes[n].name) +
             ",\"error\":" + JsonQuote(f) + "}";
      first = false;
    }
    out += "]}\n";
    io.out << out;
    return exit;
  }

  // Text: identical changes (knob, values, deciders) grouped with their nodes.
  using ChangeKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::map<ChangeKey, std::vector<std::string_view>> grouped;
  std::vector<ChangeKey> order;
  for (size_t n = 0; n < nodes.nodes.size(); ++n) {
    for (const Change& c : changes[distinct.of_node[n]]) {
      ChangeKey key{c.knob, c.from, c.to, c.from_rule, c.to_rule};
      auto [it, inserted] = grouped.try_emplace(key);
      if (inserted) order.push_back(key);
      it->second.push_back(nodes.nodes[n].name);
    }
  }
  io.out << "from   " << PolicyTitle(*a) << "\nto     " << PolicyTitle(*b) << "\nnodes  "
         << nodes.nodes.size() << (inventory ? " in " + inventory->file : std::string(" catalog devices")) << ": "
         << changed_nodes << " change, " << nodes.nodes.size() - changed_nodes - failed_nodes << " unchanged";
  if (failed_nodes) io.out << ", " << failed_nodes << " cannot be decided";
  io.out << "\n";
  for (const ChangeKey& key : order) {
    const auto& [knob, f, t, fr, tr] = key;
    const auto& names = grouped[key];
    io.out << "\n" << knob << ": " << f << " -> " << t << "   (" << (fr.empty() ? "-" : fr) << " -> "
           << (tr.empty() ? "-" : tr) << ")\n  " << names.size() << " node" << (names.size() == 1 ? "" : "s")
           << ": " << NameList(names) << "\n";
  }
  for (size_t n = 0; n < nodes.nodes.size(); ++n) {
    const std::string& f = failure[distinct.of_node[n]];
    if (!f.empty()) io.err << "policyctl diff: " << nodes.nodes[n].name << ": " << f << "\n";
  }
  return exit;
}

}  // namespace

int RunFleet(const std::vector<std::string>& args, Io& io) { return RunFleetCommand(args, io); }
int RunDiff(const std::vector<std::string>& args, Io& io) { return RunDiffCommand(args, io); }

}  // namespace kpolicy::tools
