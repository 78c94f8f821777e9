#include "kpolicy/policy_cases.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "kpolicy/device_catalog.h"
#include "kpolicy/spelling.h"
#include "yaml_document.h"

namespace kpolicy {

namespace {

constexpr const char* kFormatKey = "kpolicy_test";

// A path named in the file, resolved against its folder; built-in policy
// names stay as they are.
std::string Resolve(const std::string& file, const std::string& named) {
  if (named.rfind("builtin:", 0) == 0) return named;
  const std::filesystem::path p(named);
  if (p.is_absolute()) return named;
  return (std::filesystem::path(file).parent_path() / p).lexically_normal().string();
}

class CaseReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  CaseFile Read(const YAML::Node& root) {
    CaseFile out;
    out.file = file();
    if (!root.IsMap()) {
      Error(Loc(root), "a test file is a mapping with 'kpolicy_test: 1' and 'cases'");
      return out;
    }
    const Misspelt misspelt = CheckKeys(root, {kFormatKey, "policy", "contracts", "cases"}, "the test file");
    YAML::Node format = Get(root, kFormatKey);
    if (!format) {
      if (!misspelt.count(kFormatKey)) Error(Loc(root), "missing 'kpolicy_test: 1'");
    } else if (!format.IsScalar() || format.Scalar() != "1") {
      Error(Loc(format), "unsupported test format '" + ScalarOr(format, "?") + "': this build reads 1");
    }
    if (YAML::Node p = Get(root, "policy")) out.policy = Resolve(file(), String(p, "policy"));
    if (YAML::Node c = Get(root, "contracts")) out.contracts = Resolve(file(), String(c, "contracts"));
    YAML::Node list = Get(root, "cases");
    if (!list) {
      if (!misspelt.count("cases")) Error(Loc(root), "missing 'cases'");
      return out;
    }
    if (!list.IsSequence() || list.size() == 0) {
      Error(Loc(list), "'cases' is a non-empty list of cases, not a " + Kind(list));
      return out;
    }
    std::map<std::string, SourceLocation> names;
    for (auto it = list.begin(); it != list.end(); ++it) {
      PolicyCase c = ReadCase(*it);
      if (!c.name.empty()) {
        auto [seen, fresh] = names.emplace(c.name, c.location);
        if (!fresh) Error(c.location, "case '" + c.name + "' is named twice (first at line " + std::to_string(seen->second.line) + ")");
      }
      out.cases.push_back(std::move(c));
    }
    return out;
  }

 private:
  PolicyCase ReadCase(const YAML::Node& node) {
    PolicyCase c;
    c.location = Loc(node);
    if (!node.IsMap()) {
      Error(c.location, "a case is a mapping {name, device or facts, env, expect}, not a " + Kind(node));
      return c;
    }
    const Misspelt misspelt =
        CheckKeys(node, {"name", "device", "facts", "env", "assume_proven", "expect"}, "a case");
    c.name = RequiredString(node, "name", "a case", misspelt);
    const std::string context = c.name.empty() ? std::string("a case") : "case '" + c.name + "'";
    YAML::Node device = Get(node, "device"), facts = Get(node, "facts");
    if (!device && !(facts && facts.IsMap() && Get(facts, "cc"))) {
      if (!misspelt.count("device") && !misspelt.count("facts")) {
        Error(c.location, context + " needs a device (a catalog key: policyctl devices) or facts with a cc");
      }
    }
    if (device) {
      const std::string key = String(device, "device");
      if (auto entry = FindCatalogDevice(key)) {
        c.device = entry->ToFacts();
      } else if (!key.empty()) {
        std::vector<std::string> keys;
        for (const CatalogEntry& e : DeviceCatalog()) keys.emplace_back(e.key);
        Error(Loc(device), "unknown device '" + key + "'" + DidYouMean(key, keys) +
                               " (the catalog's keys: policyctl devices; or give facts)");
      }
    }
    if (facts) ReadFacts(facts, c);
    if (YAML::Node env = Get(node, "env")) ReadEnv(env, c);
    if (YAML::Node proven = Get(node, "assume_proven")) c.assume_proven = Strings(proven, "assume_proven");
    YAML::Node expect = Get(node, "expect");
    if (!expect) {
      if (!misspelt.count("expect")) Error(c.location, context + " has no 'expect': say which knob values it expects");
      return c;
    }
    if (!expect.IsMap() || expect.size() == 0) {
      Error(Loc(expect), "'expect' maps knobs to values or to {value, rule}, not a " + Kind(expect));
      return c;
    }
    CheckKeys(expect, {}, "expect");
    for (auto it = expect.begin(); it != expect.end(); ++it) {
      CaseExpectation e;
      e.knob = it->first.Scalar();
      e.location = Loc(it->first);
      const YAML::Node v = it->second;  // a copy: it-> is a temporary proxy
      if (v.IsMap()) {
        const Misspelt m = CheckKeys(v, {"value", "rule"}, "the expectation of " + e.knob);
        if (YAML::Node value = Get(v, "value")) {
          e.value = String(value, "value");
          e.value_location = Loc(value);
        }
        if (YAML::Node rule = Get(v, "rule")) {
          e.rule = String(rule, "rule");
          e.rule_location = Loc(rule);
        }
        if (!e.value && !e.rule && m.empty()) Error(Loc(v), "the expectation of " + e.knob + " needs a value or a rule");
      } else {
        e.value = String(v, "the expected value of " + e.knob);
        e.value_location = Loc(v);
      }
      c.expect.push_back(std::move(e));
    }
    return c;
  }

  void ReadFacts(const YAML::Node& facts, PolicyCase& c) {
    if (!facts.IsMap()) {
      Error(Loc(facts), "'facts' maps facts (cc, sms, memory, ...) to values, not a " + Kind(facts));
      return;
    }
    CheckKeys(facts, {"cc", "sms", "name", "memory", "bandwidth", "memory_free", "driver", "cuda_runtime", "model"},
              "facts");
    DeviceFacts& d = c.device;
    if (YAML::Node cc = Get(facts, "cc")) {
      auto parsed = ParseComputeCapability(String(cc, "cc"));
      if (!parsed.ok()) {
        Error(Loc(cc), "cc: " + parsed.error().message);
      } else {
        d.cc_major = parsed->first;
        d.cc_minor = parsed->second;
        if (d.source.empty()) d.num_sms = kFallbackNumSms;  // not from the catalog: the seed's fallback
      }
    }
    for (auto [key, field] : {std::pair{"sms", 0}, std::pair{"memory", 1}, std::pair{"bandwidth", 2},
                              std::pair{"memory_free", 3}}) {
      YAML::Node n = Get(facts, key);
      if (!n) continue;
      auto number = Number(n, key);
      if (!number) continue;
      if (*number < 0 || *number != static_cast<double>(static_cast<int64_t>(*number))) {
        Error(Loc(n), std::string(key) + " is a whole number, 0 or more");
        continue;
      }
      const auto v = static_cast<int64_t>(*number);
      if (field == 0) d.num_sms = static_cast<int>(v);
      if (field == 1) d.memory_mib = v;
      if (field == 2) d.bandwidth_gbps = v;
      if (field == 3) d.memory_free_mib = v;
    }
    if (YAML::Node n = Get(facts, "name")) d.name = String(n, "name");
    for (auto [key, field] : {std::pair{"driver", &DeviceFacts::driver_version},
                              std::pair{"cuda_runtime", &DeviceFacts::runtime_version}}) {
      YAML::Node n = Get(facts, key);
      if (!n) continue;
      const std::string text = String(n, key);
      if (!IsVersionText(text)) {
        Error(Loc(n), std::string(key) + " is a version such as 570.207, not '" + text + "'");
        continue;
      }
      d.*field = text;
    }
    if (YAML::Node m = Get(facts, "model")) {
      if (!m.IsMap()) {
        Error(Loc(m), "'model' maps architecture, name, quantisation and size to text, not a " + Kind(m));
        return;
      }
      CheckKeys(m, {"architecture", "name", "quantisation", "size"}, "model");
      for (auto [key, field] : {std::pair{"architecture", &ModelFacts::architecture}, std::pair{"name", &ModelFacts::name},
                                std::pair{"quantisation", &ModelFacts::quantisation},
                                std::pair{"size", &ModelFacts::size}}) {
        if (YAML::Node n = Get(m, key)) c.model.*field = String(n, key);
      }
    }
    if (d.source.empty()) d.source = "test case facts";
  }

  void ReadEnv(const YAML::Node& env, PolicyCase& c) {
    if (!env.IsMap()) {
      Error(Loc(env), "'env' maps variable names to their text, not a " + Kind(env));
      return;
    }
    CheckKeys(env, {}, "env");
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (!it->second.IsScalar()) {
        Error(Loc(it->second), "the value of " + it->first.Scalar() + " is text, not a " + Kind(it->second));
        continue;
      }
      c.env.Set(it->first.Scalar(), it->second.Scalar());
    }
  }
};

// Evidence for one case: the contracts it assumes proven, else the records.
class CaseEvidence : public EvidenceOracle {
 public:
  CaseEvidence(const PolicyCase& c, const EvidenceOracle* records) : c_(c), records_(records) {}
  Answer Prove(const std::string& contract, const std::string& knob, const std::string& value,
               const DeviceFacts& device, const ModelFacts& model) const override {
    if (std::find(c_.assume_proven.begin(), c_.assume_proven.end(), contract) != c_.assume_proven.end()) {
      return {true, "assumed proven by the test case"};
    }
    if (records_) return records_->Prove(contract, knob, value, device, model);
    return {false, "no records were given and the case does not assume " + contract};
  }
  uint64_t ProveUnits() const override { return c_.assume_proven.size() + (records_ ? records_->ProveUnits() : 1); }

 private:
  const PolicyCase& c_;
  const EvidenceOracle* records_;
};

}  // namespace

Checked<CaseFile> LoadCaseFile(const std::string& path) { return ReadYamlFile<CaseReader>(path); }

Diagnostics CheckCases(const CaseFile& file, const Policy& policy) {
  Diagnostics d;
  std::vector<std::string> knobs;
  for (const Knob& k : policy.knobs) knobs.push_back(k.name);
  for (const PolicyCase& c : file.cases) {
    for (const CaseExpectation& e : c.expect) {
      const Knob* k = policy.FindKnob(e.knob);
      if (!k) {
        d.Error(e.location, "policy " + policy.name + " has no knob '" + e.knob + "'" + DidYouMean(e.knob, knobs));
        continue;
      }
      if (e.value && !CanonicalValueText(k->type, *e.value)) {
        d.Error(e.value_location, "'" + *e.value + "' is not a value of knob '" + k->name + "' (" + k->type.ToString() +
                                      ")" + (k->type.kind == TypeKind::kEnum ? DidYouMean(*e.value, k->type.members) : ""));
      }
      if (e.rule) {
        std::vector<std::string> deciders = {"default"};
        for (const Rule& r : k->rules) deciders.push_back(r.id);
        for (const EnvOverride& o : k->env) deciders.push_back("env:" + o.var);
        if (std::find(deciders.begin(), deciders.end(), *e.rule) == deciders.end()) {
          d.Error(e.rule_location, "knob '" + k->name + "' has no rule '" + *e.rule + "' (its rules, overrides as "
                                   "env:VAR, and default)" + DidYouMean(*e.rule, deciders));
        }
      }
    }
  }
  d.SortByLocation();
  return d;
}

std::string DeciderName(const Knob& knob, const KnobTrace& trace) {
  switch (trace.decided_by) {
    case KnobTrace::kEnv: return "env:" + knob.env[trace.index].var;
    case KnobTrace::kRule: return knob.rules[trace.index].id;
    case KnobTrace::kDefault: return "default";
    case KnobTrace::kPinned: return "pinned";
  }
  return "?";
}

CaseResult RunCase(const Policy& policy, const PolicyCase& c, const EvidenceOracle* records,
                   std::optional<Decision>* decision, EvaluationBudget* budget) {
  CaseResult result;
  const CaseEvidence evidence(c, records);
  auto d = Evaluate(policy, c.device, c.model, c.env, {}, &evidence, budget);
  if (!d.ok()) {
    result.error = d.error().ToString();
    return result;
  }
  for (const CaseExpectation& e : c.expect) {
    const Knob* k = policy.FindKnob(e.knob);
    if (!k) continue;  // CheckCases reports it
    const KnobTrace& trace = d->knobs[k - policy.knobs.data()];
    CaseMismatch m;
    m.knob = e.knob;
    m.location = e.location;
    bool differs = false;
    if (e.value) {
      const std::string got = d->ValueText(*k);
      if (CanonicalValueText(k->type, *e.value).value_or(*e.value) != got) {
        m.expected = *e.value;
        m.got = got;
        differs = true;
      }
    }
    if (e.rule) {
      const std::string got = DeciderName(*k, trace);
      if (*e.rule != got) {
        m.expected_rule = *e.rule;
        m.got_rule = got;
        differs = true;
      }
    }
    if (differs) result.mismatches.push_back(std::move(m));
  }
  result.passed = result.mismatches.empty();
  if (decision) *decision = std::move(d).value();
  return result;
}

Coverage::Coverage(const Policy& policy) : policy_(policy) {
  rule_item_.resize(policy.knobs.size());
  env_item_.resize(policy.knobs.size());
  default_item_.resize(policy.knobs.size());
  // In file order per knob: overrides, rules, then the default, as they are tried.
  for (size_t k = 0; k < policy.knobs.size(); ++k) {
    const Knob& knob = policy.knobs[k];
    for (const EnvOverride& e : knob.env) {
      env_item_[k].push_back(static_cast<int>(items_.size()));
      items_.push_back({knob.name, "override " + e.var, e.location, false});
      kinds_.push_back(kOverride);
    }
    for (const Rule& r : knob.rules) {
      rule_item_[k].push_back(static_cast<int>(items_.size()));
      items_.push_back({knob.name, "rule '" + r.id + "'", r.location, false});
      kinds_.push_back(kRule);
    }
    default_item_[k] = static_cast<int>(items_.size());
    const SourceLocation where = knob.default_value.place().known() ? knob.default_value.place() : knob.location;
    items_.push_back({knob.name, "default", where, false});
    kinds_.push_back(kDefault);
  }
}

void Coverage::Add(const Decision& decision) {
  if (decision.policy != &policy_) return;
  for (size_t k = 0; k < decision.knobs.size(); ++k) {
    const KnobTrace& t = decision.knobs[k];
    switch (t.decided_by) {
      case KnobTrace::kEnv: items_[env_item_[k][t.index]].exercised = true; break;
      case KnobTrace::kRule: items_[rule_item_[k][t.index]].exercised = true; break;
      case KnobTrace::kDefault: items_[default_item_[k]].exercised = true; break;
      case KnobTrace::kPinned: break;
    }
  }
}

Coverage::Count Coverage::CountOf(ItemKind kind) const {
  Count c;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (kinds_[i] != kind) continue;
    ++c.total;
    c.exercised += items_[i].exercised;
  }
  return c;
}

}  // namespace kpolicy
