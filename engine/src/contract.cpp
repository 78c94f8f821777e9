#include "kpolicy/contract.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "kpolicy/parity_vocabulary.h"
#include "kpolicy/spelling.h"
#include "kpolicy/value.h"
#include "yaml_document.h"

namespace kpolicy {

const std::vector<std::string>& KnownParityMetrics() {
  static const std::vector<std::string> kMetrics = [] {
    std::vector<std::string> names;
    for (const RecordedMetric& m : RecordedMetrics()) names.emplace_back(m.name);
    return names;
  }();
  return kMetrics;
}

bool Threshold::Holds(double value) const {
  if (std::isnan(value)) return false;
  return is_min ? value >= limit : value <= limit;
}

std::string Threshold::ToString() const {
  return metric + (is_min ? " >= " : " <= ") + FormatNumber(limit);
}

bool Contract::Constrains(const std::string& name) const {
  return name == knob || std::any_of(aliases.begin(), aliases.end(), [&](const Alias& a) { return a.knob == name; });
}

std::string Contract::VariantOf(const std::string& name, const std::string& value) const {
  if (name == knob) return value;
  for (const Alias& a : aliases) {
    if (a.knob != name) continue;
    auto it = a.variant_of.find(value);
    return it == a.variant_of.end() ? "" : it->second;
  }
  return "";
}

namespace {

constexpr const char* kFormatKey = "kpolicy_contracts";

class ContractReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  std::vector<Contract> Read(const YAML::Node& root) {
    std::vector<Contract> out;
    if (!root.IsMap()) {
      Error(Loc(root), "a contract file is a mapping with 'kpolicy_contracts: 1' and 'contracts'");
      return out;
    }
    const Misspelt misspelt = CheckKeys(root, {kFormatKey, "contracts"}, "the contract file");
    YAML::Node format = Get(root, kFormatKey);
    if (!format) {
      if (!misspelt.count(kFormatKey)) Error(Loc(root), "missing 'kpolicy_contracts: 1'");
    } else if (!format.IsScalar() || format.Scalar() != "1") {
      Error(Loc(format), "unsupported contract format '" + ScalarOr(format, "?") + "': this build reads 1");
    }
    YAML::Node list = Get(root, "contracts");
    if (!list) {
      if (!misspelt.count("contracts")) Error(Loc(root), "missing 'contracts'");
      return out;
    }
    if (!list.IsSequence()) {
      Error(Loc(list), "'contracts' is a list of contracts, not a " + Kind(list));
      return out;
    }
    for (auto it = list.begin(); it != list.end(); ++it) out.push_back(ReadContract(*it));
    return out;
  }

 private:
  Contract ReadContract(const YAML::Node& node) {
    Contract c;
    c.location = Loc(node);
    if (!node.IsMap()) {
      Error(c.location, "a contract is a mapping {id, knob, operation, workloads, thresholds}, not a " + Kind(node));
      return c;
    }
    const Misspelt misspelt = CheckKeys(
        node, {"id", "title", "knob", "aliases", "operation", "workloads", "variants", "thresholds", "refs"},
        "a contract");
    c.id = RequiredString(node, "id", "a contract", misspelt);
    const std::string context = c.id.empty() ? std::string("a contract") : "contract " + c.id;
    if (YAML::Node t = Get(node, "title")) c.title = String(t, "title");
    c.knob = RequiredString(node, "knob", context, misspelt);
    if (YAML::Node a = Get(node, "aliases")) ReadAliases(a, context, c);
    c.operation = RequiredString(node, "operation", context, misspelt);
    CheckOperation(node, c, context);
    if (YAML::Node w = Get(node, "workloads")) {
      c.workloads = Strings(w, "workloads");
      if (c.workloads.empty()) Error(Loc(w), context + " names no workload");
      CheckWorkloads(w, c.workloads, context);
    } else if (!misspelt.count("workloads")) {
      Error(c.location, "missing 'workloads' in " + context);
    }
    if (YAML::Node r = Get(node, "refs")) c.refs = Strings(r, "refs");
    if (YAML::Node v = Get(node, "variants")) {
      c.variants = Strings(v, "variants");
      c.variants_location = Loc(v);
      if (v.IsSequence() && c.variants.empty()) Error(Loc(v), context + ": 'variants' lists none (leave it out to mean every value)");
    }
    YAML::Node thresholds = Get(node, "thresholds");
    if (!thresholds) {
      if (!misspelt.count("thresholds")) Error(c.location, "missing 'thresholds' in " + context);
      return c;
    }
    if (!thresholds.IsMap() || thresholds.size() == 0) {
      Error(Loc(thresholds), "'thresholds' maps metrics to {min: X} or {max: X}");
      return c;
    }
    CheckKeys(thresholds, KnownParityMetrics(), "the thresholds of " + context);
    for (auto it = thresholds.begin(); it != thresholds.end(); ++it) {
      const std::string metric = it->first.IsScalar() ? it->first.Scalar() : "";
      const auto& known = KnownParityMetrics();
      if (std::find(known.begin(), known.end(), metric) == known.end()) continue;  // reported
      const YAML::Node bound = it->second;
      if (!bound.IsMap() || bound.size() != 1) {
        Error(Loc(bound), "threshold of " + metric + " is {min: X} or {max: X}");
        continue;
      }
      CheckKeys(bound, {"min", "max"}, "the threshold of " + metric);
      Threshold t;
      t.metric = metric;
      t.location = Loc(it->first);
      t.is_min = bound.begin()->first.Scalar() == "min";
      // A bound outside the metric's domain is a slip (cosine >= 7 can never
      // hold; nan_count <= -1 neither) that would fail or pass everything.
      const RecordedMetric& domain = *FindRecordedMetric(metric);
      NumberDomain range;
      range.min = domain.min;
      range.max = domain.max;
      if (auto limit = Number(bound.begin()->second, metric, range)) {
        t.limit = *limit;
        c.thresholds.push_back(t);
      }
    }
    return c;
  }

  // The operation is one records measure, and it measures `knob`'s values:
  // a contract on q4k naming q6k_gemv would hold q4k's choice to q6k's
  // figures, and a misspelt one to none at all.
  void CheckOperation(const YAML::Node& node, const Contract& c, const std::string& context) {
    if (c.operation.empty()) return;
    const MeasuredOperation* op = FindMeasuredOperation(c.operation);
    if (op == nullptr) {
      const std::vector<std::string> known = MeasuredOperationNames();
      Error(Loc(Get(node, "operation")), "unknown operation '" + c.operation + "' in " + context +
                                             DidYouMean(c.operation, known) + "; records measure " + JoinNames(known));
    } else if (!c.knob.empty() && op->knob != c.knob) {
      Error(Loc(Get(node, "operation")), "operation " + c.operation + " measures the values of knob '" +
                                             std::string(op->knob) + "', but " + context + " constrains '" + c.knob + "'");
    }
  }

  void CheckWorkloads(const YAML::Node& list, const std::vector<std::string>& workloads, const std::string& context) {
    const std::vector<std::string> known = MeasuredWorkloadNames();
    for (size_t i = 0; i < workloads.size(); ++i) {
      if (IsMeasuredWorkload(workloads[i]) || workloads[i].empty()) continue;
      const YAML::Node at = list.IsSequence() ? list[i] : list;
      Error(Loc(at), "unknown workload '" + workloads[i] + "' in " + context + DidYouMean(workloads[i], known) +
                         "; the standard workloads are " + JoinNames(known));
    }
  }

  // aliases: [{knob: batched_prefill, values: {"true": batched, "false": serial}}]
  void ReadAliases(const YAML::Node& list, const std::string& context, Contract& c) {
    if (!list.IsSequence()) {
      Error(Loc(list), "'aliases' of " + context + " is a list of {knob, values}, not a " + Kind(list));
      return;
    }
    for (auto it = list.begin(); it != list.end(); ++it) {
      const YAML::Node node = *it;
      if (!node.IsMap()) {
        Error(Loc(node), "an alias is a mapping {knob, values}, not a " + Kind(node));
        continue;
      }
      const Misspelt misspelt = CheckKeys(node, {"knob", "values"}, "an alias of " + context);
      Contract::Alias alias;
      alias.location = Loc(node);
      alias.knob = RequiredString(node, "knob", "an alias of " + context, misspelt);
      if (!alias.knob.empty() && c.Constrains(alias.knob)) {
        Error(Loc(Get(node, "knob")), context + " already constrains knob '" + alias.knob + "'");
      }
      const YAML::Node values = Get(node, "values");
      if (!values || !values.IsMap() || values.size() == 0) {
        if (!misspelt.count("values")) {
          Error(Loc(values ? values : node), "an alias maps its knob's values to record variants: values: {VALUE: VARIANT}");
        }
        continue;
      }
      for (auto v = values.begin(); v != values.end(); ++v) {
        alias.variant_of[String(v->first, "an alias value")] = String(v->second, "a record variant");
      }
      c.aliases.push_back(std::move(alias));
    }
  }
};

}  // namespace

Checked<std::vector<Contract>> LoadContractFile(const std::string& path) {
  return ReadYamlFile<ContractReader>(path);
}

Checked<std::vector<Contract>> ParseContracts(std::string_view text, const std::string& file) {
  return ParseYamlText<ContractReader>(text, file);
}

Checked<std::vector<Contract>> LoadContractDirectory(const std::string& directory) {
  Diagnostics diagnostics;
  auto files = ListYamlFiles(directory, "contracts");
  if (!files.ok()) return Fail(std::move(files).error());
  std::vector<Contract> all;
  std::map<std::string, SourceLocation> ids;
  for (const std::string& file : *files) {
    auto loaded = LoadContractFile(file);
    if (!loaded.ok()) {
      diagnostics.Append(loaded.error());
      continue;
    }
    for (Contract& c : *loaded) {
      if (auto [it, fresh] = ids.emplace(c.id, c.location); !fresh) {
        diagnostics.Error(c.location, "contract id " + c.id + " is already defined at " + it->second.ToString());
        continue;
      }
      all.push_back(std::move(c));
    }
  }
  if (diagnostics.has_errors()) return Fail(std::move(diagnostics));
  return all;
}

}  // namespace kpolicy
