// Loading runs in three stages, each reporting into one Diagnostics list:
//   1. read + parse the YAML, bounded by LoadLimits;
//   2. turn the YAML tree into a RawPolicy (strings with their places),
//      checking keys and shapes; merge it over its base if it extends one;
//   3. compile: resolve names, check types, order knobs by dependency, lint.
#include "kpolicy/policy_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/spelling.h"
#include "yaml_document.h"

namespace kpolicy {

bool EnvOverride::presence_only() const {
  for (int slot : value.reads()) {
    if (slot == var_slot) return false;
  }
  return !has_condition;
}

const Knob* Policy::FindKnob(std::string_view knob_name) const {
  for (const Knob& k : knobs) {
    if (k.name == knob_name) return &k;
  }
  return nullptr;
}

std::vector<std::string> Policy::EnvironmentVariables() const {
  std::vector<std::string> out;
  for (int slot : env_slots) out.push_back(slots[slot].name);
  return out;
}

namespace {

constexpr int kSchemaVersion = 1;

// ---- Stage 2's data: the policy as written ----------------------------------

struct RawExpr {
  std::string text;
  SourceLocation where;                     // of the scalar
  std::vector<std::pair<int, int>> positions;  // line, column of each character
  bool present = false;
};

struct RawRule {
  std::string id;
  RawExpr when, value;
  std::string why;
  std::vector<std::string> refs;
  std::string before, after;  // overlays: where a new rule goes
  SourceLocation where;
};

struct RawEnv {
  std::string var;
  bool on_presence = true;  // `when: set` or no `when`
  RawExpr when, value;
  SourceLocation where;
};

struct RawKnob {
  std::string name;
  SourceLocation where;
  std::optional<Type> type;
  SourceLocation type_where;
  std::optional<std::string> doc;
  std::optional<std::vector<RawEnv>> env;
  std::vector<RawRule> rules;
  RawExpr default_value;
  RawExpr fallback;  // the value the runtime's parity gate falls back to
  std::vector<std::pair<std::string, SourceLocation>> remove_rules;
  std::set<std::string> misspelt;  // keys reported as misspelt: not missing too
};

struct RawFact {
  std::string name;
  RawExpr expr;
  SourceLocation where;
};

struct RawPolicy {
  std::string file;
  std::string name, version, description;
  std::string extends;
  SourceLocation extends_where;
  std::string on_gate_failure;  // "fallback" (default) or "fatal"
  SourceLocation on_gate_failure_where;
  std::vector<RawFact> facts;
  std::vector<RawKnob> knobs;
  std::vector<std::string> bases;
};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool IsRuleId(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string LineOf(const SourceLocation& loc) {
  return "line " + std::to_string(loc.line);
}

// "line 8", or "base.yaml:8" when `loc` is in another file than `from`
// (an overlay's rule next to its base's).
std::string PlaceOf(const SourceLocation& loc, const SourceLocation& from) {
  if (loc.file == from.file) return LineOf(loc);
  return loc.file + ":" + std::to_string(loc.line);
}

// ---- Stage 1 and 2: YAML to RawPolicy -------------------------------------

// Reads a policy's YAML tree into a RawPolicy.
class YamlReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  std::optional<RawPolicy> Read(const YAML::Node& root) {
    RawPolicy p;
    p.file = file();
    if (!root.IsMap()) {
      Error(Loc(root), root.IsNull() ? std::string("file is empty: a policy is a mapping that starts with 'kpolicy: 1'")
                                     : "a policy is a mapping, not a " + Kind(root));
      return std::nullopt;
    }
    const Misspelt misspelt = CheckKeys(
        root, {"kpolicy", "name", "version", "description", "extends", "on_gate_failure", "facts", "knobs"},
        "the policy");
    if (YAML::Node schema = Get(root, "kpolicy")) {
      if (!schema.IsScalar() || schema.Scalar() != std::to_string(kSchemaVersion)) {
        Error(Loc(schema), "unsupported policy format 'kpolicy: " + ScalarOr(schema, "?") +
                               "': this build reads format 1");
      }
    } else if (!misspelt.count("kpolicy")) {
      Error(Loc(root), "missing 'kpolicy: 1' (the policy format version)");
    }
    p.name = RequiredString(root, "name", "the policy", misspelt);
    p.version = RequiredString(root, "version", "the policy", misspelt);
    if (YAML::Node d = Get(root, "description")) p.description = String(d, "description");
    if (YAML::Node g = Get(root, "on_gate_failure")) {
      p.on_gate_failure = String(g, "on_gate_failure");
      p.on_gate_failure_where = Loc(g);
      if (g.IsScalar() && p.on_gate_failure != "fallback" && p.on_gate_failure != "fatal") {
        Error(Loc(g), "on_gate_failure is 'fallback' or 'fatal', not '" + p.on_gate_failure + "'");
      }
    }
    if (YAML::Node e = Get(root, "extends")) {
      p.extends = String(e, "extends");
      p.extends_where = Loc(e);
    }
    if (YAML::Node facts = Get(root, "facts")) ReadFacts(facts, p);
    if (YAML::Node knobs = Get(root, "knobs")) {
      ReadKnobs(knobs, p);
    } else if (p.extends.empty() && !misspelt.count("knobs")) {
      Error(Loc(root), "missing 'knobs': a policy decides at least one knob");
    }
    return p;
  }

 private:
  RawExpr Expr(const YAML::Node& node, const std::string& what) {
    RawExpr e;
    e.where = Loc(node);
    if (!node.IsScalar()) {
      Error(e.where, "'" + what + "' must be an expression, not a " + Kind(node));
      return e;
    }
    e.text = node.Scalar();
    e.positions = LocateScalarText(node, e.text);
    e.present = true;
    return e;
  }

  void ReadFacts(const YAML::Node& facts, RawPolicy& p) {
    if (!facts.IsMap()) {
      Error(Loc(facts), "'facts' maps names to expressions, not a " + Kind(facts));
      return;
    }
    CheckKeys(facts, {}, "facts");  // facts are free-form: duplicates only
    for (auto it = facts.begin(); it != facts.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      RawFact f;
      f.name = it->first.Scalar();
      f.where = Loc(it->first);
      f.expr = Expr(it->second, "facts." + f.name);
      p.facts.push_back(std::move(f));
    }
  }

  void ReadKnobs(const YAML::Node& knobs, RawPolicy& p) {
    if (!knobs.IsMap()) {
      Error(Loc(knobs), "'knobs' maps knob names to their definitions, not a " + Kind(knobs));
      return;
    }
    std::map<std::string, SourceLocation> seen;
    for (auto it = knobs.begin(); it != knobs.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error(Loc(it->first), "knob names are plain names, not a " + Kind(it->first));
        continue;
      }
      RawKnob k;
      k.name = it->first.Scalar();
      k.where = Loc(it->first);
      auto [previous, inserted] = seen.emplace(k.name, k.where);
      if (!inserted) {
        Error(k.where, "duplicate knob '" + k.name + "' (first at " + LineOf(previous->second) + ")");
        continue;
      }
      const YAML::Node& body = it->second;
      if (!body.IsMap()) {
        Error(Loc(body), "knob '" + k.name + "' must be a mapping with type, rules and default, not a " +
                             Kind(body));
        continue;
      }
      ReadKnob(body, k);
      p.knobs.push_back(std::move(k));
    }
  }

  void ReadKnob(const YAML::Node& body, RawKnob& k) {
    const std::string context = "knob '" + k.name + "'";
    k.misspelt = CheckKeys(body, {"type", "doc", "env", "rules", "default", "fallback", "remove_rules"}, context);
    if (YAML::Node t = Get(body, "type")) {
      k.type = ReadType(t, k.name);
      k.type_where = Loc(t);
    }
    if (YAML::Node d = Get(body, "doc")) k.doc = String(d, "doc");
    if (YAML::Node env = Get(body, "env")) {
      k.env.emplace();
      if (!env.IsSequence()) {
        Error(Loc(env), "'env' of " + context + " is a list of overrides, not a " + Kind(env));
      } else {
        for (auto it = env.begin(); it != env.end(); ++it) k.env->push_back(ReadEnv(*it, k.name));
      }
    }
    if (YAML::Node rules = Get(body, "rules")) {
      if (!rules.IsSequence()) {
        Error(Loc(rules), "'rules' of " + context + " is a list of rules, not a " + Kind(rules));
      } else {
        for (auto it = rules.begin(); it != rules.end(); ++it) k.rules.push_back(ReadRule(*it, k.name));
      }
    }
    if (YAML::Node d = Get(body, "default")) k.default_value = Expr(d, k.name + ".default");
    if (YAML::Node f = Get(body, "fallback")) k.fallback = Expr(f, k.name + ".fallback");
    if (YAML::Node r = Get(body, "remove_rules")) {
      if (!r.IsSequence()) {
        Error(Loc(r), "'remove_rules' is a list of rule ids, not a " + Kind(r));
      } else {
        for (auto it = r.begin(); it != r.end(); ++it) {
          k.remove_rules.emplace_back(String(*it, "remove_rules"), Loc(*it));
        }
      }
    }
  }

  std::optional<Type> ReadType(const YAML::Node& t, const std::string& knob) {
    const std::vector<std::string> kinds = {"bool", "int", "string", "enum"};
    if (t.IsScalar()) {
      const std::string& s = t.Scalar();
      if (s == "bool") return Type::Bool();
      if (s == "int") return Type::Int();
      if (s == "string") return Type::String();
      if (s == "enum") {
        Error(Loc(t), "an enum lists its members: type: {enum: [A, B]}");
        return std::nullopt;
      }
      Error(Loc(t), "unknown type '" + s + "' for knob '" + knob + "'" + DidYouMean(s, kinds) +
                        "; types: bool, int, {int: [MIN, MAX]}, string, {enum: [A, B, ...]}");
      return std::nullopt;
    }
    if (!t.IsMap() || t.size() != 1) {
      Error(Loc(t), "a type is bool, int, {int: [MIN, MAX]}, string or {enum: [A, B, ...]}");
      return std::nullopt;
    }
    CheckKeys(t, {"enum", "int"}, "the type of knob '" + knob + "'");
    const std::string kind = t.begin()->first.Scalar();
    const YAML::Node arg = t.begin()->second;  // a handle: the iterator is a temporary
    if (kind == "enum") {
      if (!arg.IsSequence() || arg.size() == 0) {
        Error(Loc(arg), "an enum lists at least one member: {enum: [A, B]}");
        return std::nullopt;
      }
      Type type{TypeKind::kEnum, {}};
      for (auto it = arg.begin(); it != arg.end(); ++it) {
        std::string member = String(*it, "enum member");
        if (!it->IsScalar()) return std::nullopt;
        if (!IsIdentifier(member)) {
          Error(Loc(*it), "enum member '" + member + "' is not a name (letters, digits, _)");
          return std::nullopt;
        }
        if (type.MemberIndex(member)) {
          Error(Loc(*it), "enum member '" + member + "' is listed twice");
          return std::nullopt;
        }
        type.members.push_back(member);
      }
      return type;
    }
    if (kind == "int") {
      if (!arg.IsSequence() || arg.size() != 2 || !arg[0].IsScalar() || !arg[1].IsScalar()) {
        Error(Loc(arg), "an int range is [MIN, MAX], e.g. {int: [1, 32]}");
        return std::nullopt;
      }
      Type type = Type::Int();
      for (int i = 0; i < 2; ++i) {
        const std::string s = arg[i].Scalar();
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(s, &used);
        } catch (...) {
          used = 0;
        }
        if (used != s.size() || s.empty()) {
          Error(Loc(arg[i]), "int range bound '" + s + "' is not an integer");
          return std::nullopt;
        }
        (i == 0 ? type.min : type.max) = v;
      }
      if (type.min > type.max) {
        Error(Loc(arg), "int range [" + std::to_string(type.min) + ", " + std::to_string(type.max) +
                            "] is empty: MIN is above MAX");
        return std::nullopt;
      }
      return type;
    }
    return std::nullopt;  // CheckKeys reported it
  }

  RawEnv ReadEnv(const YAML::Node& node, const std::string& knob) {
    RawEnv e;
    e.where = Loc(node);
    const std::string context = "an env override of knob '" + knob + "'";
    if (!node.IsMap()) {
      Error(e.where, context + " is a mapping {var: NAME, when: set, value: ...}, not a " + Kind(node));
      return e;
    }
    const Misspelt misspelt = CheckKeys(node, {"var", "when", "value"}, context);
    e.var = RequiredString(node, "var", context, misspelt);
    if (!e.var.empty() && !IsIdentifier(e.var)) {
      Error(Loc(Get(node, "var")), "'" + e.var + "' is not an environment variable name (letters, digits, _)");
    }
    if (YAML::Node w = Get(node, "when")) {
      if (w.IsScalar() && w.Scalar() == "set" && w.Tag() != "!") {
        e.on_presence = true;
      } else {
        e.on_presence = false;
        e.when = Expr(w, e.var + ".when");
      }
    }
    if (YAML::Node v = Get(node, "value")) {
      e.value = Expr(v, e.var + ".value");
    } else if (!misspelt.count("value")) {
      Error(e.where, "missing 'value' in " + context);
    }
    return e;
  }

  RawRule ReadRule(const YAML::Node& node, const std::string& knob) {
    RawRule r;
    r.where = Loc(node);
    const std::string context = "a rule of knob '" + knob + "'";
    if (!node.IsMap()) {
      Error(r.where, context + " is a mapping {id, when, value, why, refs}, not a " + Kind(node));
      return r;
    }
    const Misspelt misspelt = CheckKeys(node, {"id", "when", "value", "why", "refs", "before", "after"}, context);
    r.id = RequiredString(node, "id", context, misspelt);
    if (!r.id.empty() && !IsRuleId(r.id)) {
      Error(Loc(Get(node, "id")), "rule id '" + r.id + "' may hold letters, digits, '-', '_' and '.' only");
    }
    const std::string named = r.id.empty() ? context : "rule '" + r.id + "'";
    if (YAML::Node w = Get(node, "when")) r.when = Expr(w, named + ".when");
    else if (!misspelt.count("when")) Error(r.where, "missing 'when' in " + named);
    if (YAML::Node v = Get(node, "value")) r.value = Expr(v, named + ".value");
    else if (!misspelt.count("value")) Error(r.where, "missing 'value' in " + named);
    if (YAML::Node w = Get(node, "why")) r.why = String(w, "why");
    if (YAML::Node refs = Get(node, "refs")) {
      if (refs.IsScalar()) {
        r.refs.push_back(refs.Scalar());
      } else if (refs.IsSequence()) {
        for (auto it = refs.begin(); it != refs.end(); ++it) r.refs.push_back(String(*it, "refs"));
      } else {
        Error(Loc(refs), "'refs' is a list of references, not a " + Kind(refs));
      }
    }
    if (YAML::Node b = Get(node, "before")) r.before = String(b, "before");
    if (YAML::Node a = Get(node, "after")) r.after = String(a, "after");
    if (!r.before.empty() && !r.after.empty()) {
      Error(r.where, named + " has both 'before' and 'after'; give one");
    }
    return r;
  }
};

// ---- Overlays -----------------------------------------------------------------

// Merges `overlay` over `base` as policies/README.md describes: facts and
// knob fields replace by name, rules replace by id or are inserted (before
// the base's rules unless `before:`/`after:` names one), `env:` replaces the
// knob's whole override list.
RawPolicy MergeOverlay(RawPolicy base, RawPolicy overlay, Diagnostics& diagnostics) {
  RawPolicy out = std::move(base);
  out.bases.insert(out.bases.begin(), out.file);
  out.file = overlay.file;
  out.name = overlay.name;
  out.version = overlay.version;
  if (!overlay.description.empty()) out.description = overlay.description;
  out.extends = overlay.extends;
  out.extends_where = overlay.extends_where;
  if (!overlay.on_gate_failure.empty()) out.on_gate_failure = overlay.on_gate_failure;

  for (RawFact& f : overlay.facts) {
    auto it = std::find_if(out.facts.begin(), out.facts.end(), [&](const RawFact& b) { return b.name == f.name; });
    if (it != out.facts.end()) *it = std::move(f);
    else out.facts.push_back(std::move(f));
  }

  for (RawKnob& k : overlay.knobs) {
    auto base_it = std::find_if(out.knobs.begin(), out.knobs.end(), [&](const RawKnob& b) { return b.name == k.name; });
    if (base_it == out.knobs.end()) {
      for (const RawRule& r : k.rules) {
        if (!r.before.empty() || !r.after.empty()) {
          diagnostics.Error(r.where, "rule '" + r.id + "': 'before'/'after' place rules among a base's rules, and the base has no knob '" + k.name + "'");
        }
      }
      if (!k.remove_rules.empty()) {
        diagnostics.Error(k.remove_rules[0].second, "'remove_rules': the base has no knob '" + k.name + "'");
      }
      out.knobs.push_back(std::move(k));
      continue;
    }
    RawKnob& b = *base_it;
    if (k.type) {
      diagnostics.Error(k.type_where, "an overlay cannot change the type of knob '" + k.name +
                                          "' (declared at " + b.type_where.ToString() + ")");
    }
    if (k.doc) b.doc = k.doc;
    if (k.default_value.present) b.default_value = k.default_value;
    if (k.fallback.present) b.fallback = k.fallback;
    if (k.env) b.env = std::move(k.env);
    for (const auto& [id, where] : k.remove_rules) {
      auto it = std::find_if(b.rules.begin(), b.rules.end(), [&](const RawRule& r) { return r.id == id; });
      if (it == b.rules.end()) {
        diagnostics.Error(where, "'remove_rules': knob '" + k.name + "' of the base has no rule '" + id + "'");
      } else {
        b.rules.erase(it);
      }
    }
    std::vector<RawRule> prepend;
    for (RawRule& r : k.rules) {
      auto same = std::find_if(b.rules.begin(), b.rules.end(), [&](const RawRule& x) { return x.id == r.id; });
      if (same != b.rules.end()) {
        if (!r.before.empty() || !r.after.empty()) {
          diagnostics.Error(r.where, "rule '" + r.id + "' replaces the base's rule of that id in place; 'before'/'after' apply to new rules");
        }
        *same = std::move(r);
        continue;
      }
      const std::string& anchor = r.before.empty() ? r.after : r.before;
      if (anchor.empty()) {
        prepend.push_back(std::move(r));
        continue;
      }
      auto at = std::find_if(b.rules.begin(), b.rules.end(), [&](const RawRule& x) { return x.id == anchor; });
      if (at == b.rules.end()) {
        diagnostics.Error(r.where, "rule '" + r.id + "' is placed " + (r.before.empty() ? "after" : "before") +
                                       " '" + anchor + "', which knob '" + k.name + "' does not have");
        continue;
      }
      if (r.before.empty()) ++at;
      b.rules.insert(at, std::move(r));
    }
    b.rules.insert(b.rules.begin(), std::make_move_iterator(prepend.begin()),
                   std::make_move_iterator(prepend.end()));
  }
  return out;
}

// ---- Stage 3: compile -------------------------------------------------------

const char* const kDeviceSlotNames[kDeviceSlotCount] = {
    "device.cc", "device.cc_major", "device.cc_minor", "device.num_sms",
    "device.name", "device.memory_mib", "device.bandwidth_gbps"};

class PolicyCompiler {
 public:
  PolicyCompiler(const RawPolicy& raw, Diagnostics& diagnostics) : raw_(raw), diagnostics_(diagnostics) {}

  std::optional<Policy> Compile() {
    p_.name = raw_.name;
    p_.version = raw_.version;
    p_.description = raw_.description;
    p_.file = raw_.file;
    p_.bases = raw_.bases;
    p_.gate_failure_is_fatal = raw_.on_gate_failure == "fatal";
    AssignSlots();
    fact_state_.assign(raw_.facts.size(), kPending);
    p_.facts.resize(raw_.facts.size());
    for (size_t i = 0; i < raw_.facts.size(); ++i) CompileFact(static_cast<int>(i));
    for (const RawKnob& k : raw_.knobs) CompileKnob(k);
    if (diagnostics_.has_errors()) return std::nullopt;
    OrderByDependency();
    Lint();
    if (diagnostics_.has_errors()) return std::nullopt;
    return std::move(p_);
  }

 private:
  enum FactState { kPending, kCompiling, kDone };

  // Names in scope for one expression: device facts, derived facts, knobs,
  // and inside an env override its own variable.
  class Scope : public SymbolTable {
   public:
    Scope(PolicyCompiler& c, int env_slot) : c_(c), env_slot_(env_slot) {}
    std::optional<Symbol> Find(std::string_view name) const override {
      if (env_slot_ >= 0 && c_.p_.slots[env_slot_].name == name) {
        return Symbol{env_slot_, &c_.p_.slots[env_slot_].type};
      }
      auto it = c_.names_.find(std::string(name));
      if (it == c_.names_.end()) return std::nullopt;
      const int slot = it->second;
      if (slot >= c_.first_fact_slot_ && slot < c_.first_knob_slot_) {
        c_.CompileFact(slot - c_.first_fact_slot_);
      }
      return Symbol{slot, &c_.p_.slots[slot].type};
    }
    std::vector<std::string> Names() const override {
      std::vector<std::string> out;
      for (const auto& [name, slot] : c_.names_) out.push_back(name);
      if (env_slot_ >= 0) out.push_back(c_.p_.slots[env_slot_].name);
      return out;
    }

   private:
    PolicyCompiler& c_;
    int env_slot_;
  };

  void Error(SourceLocation where, std::string message) { diagnostics_.Error(std::move(where), std::move(message)); }

  int AddSlot(std::string name, Type type) {
    p_.slots.push_back({std::move(name), std::move(type)});
    return static_cast<int>(p_.slots.size()) - 1;
  }

  void AssignSlots() {
    for (int i = 0; i < kDeviceSlotCount; ++i) {
      const bool text = i == kSlotName;
      names_[kDeviceSlotNames[i]] = AddSlot(kDeviceSlotNames[i], text ? Type::String() : Type::Int());
    }
    for (const RawKnob& k : raw_.knobs) {
      if (!k.env) continue;
      for (const RawEnv& e : *k.env) {
        if (e.var.empty() || env_by_name_.count(e.var)) continue;
        const int slot = AddSlot(e.var, Type::String());
        env_by_name_[e.var] = slot;
        p_.env_slots.push_back(slot);
      }
    }
    first_fact_slot_ = static_cast<int>(p_.slots.size());
    for (const RawFact& f : raw_.facts) {
      CheckName(f.name, f.where, "fact");
      names_[f.name] = AddSlot(f.name, Type::Bool());  // type set once compiled
    }
    first_knob_slot_ = static_cast<int>(p_.slots.size());
    for (const RawKnob& k : raw_.knobs) {
      CheckName(k.name, k.where, "knob");
      if (names_.count(k.name)) {
        Error(k.where, "knob '" + k.name + "' has the name of a fact; names must be unique");
      }
      if (!k.type && k.type_where.line == 0 && !k.misspelt.count("type")) {  // else reported already
        Error(k.where, "knob '" + k.name + "' has no 'type'");
      }
      names_[k.name] = AddSlot(k.name, k.type.value_or(Type::Bool()));
    }
  }

  void CheckName(const std::string& name, const SourceLocation& where, const char* what) {
    if (!IsIdentifier(name)) {
      Error(where, std::string(what) + " name '" + name + "' is not a name (letters, digits, _; not starting with a digit)");
    }
  }

  std::optional<Expression> CompileExpr(const RawExpr& e, int env_slot, const Type* expected) {
    if (!e.present) return std::nullopt;
    Scope scope(*this, env_slot);
    auto compiled = Expression::Compile(e.text, TextLocations(e.where, e.positions), scope, expected);
    if (!compiled.ok()) {
      diagnostics_.Append(compiled.error());
      return std::nullopt;
    }
    return std::move(compiled).value();
  }

  void CompileFact(int index) {
    if (fact_state_[index] == kDone) return;
    const RawFact& f = raw_.facts[index];
    if (fact_state_[index] == kCompiling) {
      if (!cycle_reported_) {
        auto from = std::find(fact_stack_.begin(), fact_stack_.end(), index);
        std::vector<std::string> names;
        for (auto it = from; it != fact_stack_.end(); ++it) names.push_back(raw_.facts[*it].name);
        names.push_back(f.name);
        Error(f.where, "dependency cycle: " + Join(names, " -> "));
      }
      cycle_reported_ = true;
      return;
    }
    fact_state_[index] = kCompiling;
    fact_stack_.push_back(index);
    DerivedFact& out = p_.facts[index];
    out.name = f.name;
    out.location = f.where;
    out.slot = first_fact_slot_ + index;
    if (auto e = CompileExpr(f.expr, -1, nullptr)) {
      p_.slots[out.slot].type = e->type();
      out.expr = std::move(*e);
    }
    fact_stack_.pop_back();
    fact_state_[index] = kDone;
  }

  void CompileKnob(const RawKnob& raw) {
    Knob k;
    k.name = raw.name;
    k.location = raw.where;
    k.slot = names_[raw.name];
    k.type = p_.slots[k.slot].type;
    k.doc = raw.doc.value_or("");
    if (!raw.type) {
      p_.knobs.push_back(std::move(k));
      return;  // reported; its expressions cannot be checked without a type
    }
    const Type* type = &k.type;
    if (raw.env) {
      for (const RawEnv& re : *raw.env) {
        EnvOverride e;
        e.var = re.var;
        e.location = re.where;
        e.var_slot = env_by_name_.count(re.var) ? env_by_name_[re.var] : -1;
        e.has_condition = !re.on_presence;
        if (e.has_condition) {
          if (auto w = CompileExpr(re.when, e.var_slot, &bool_type_)) e.when = std::move(*w);
        }
        if (auto v = CompileExpr(re.value, e.var_slot, type)) e.value = std::move(*v);
        if (e.value.constant() && !InRange(k.type, *e.value.constant())) {
          Error(re.value.where, "override value " + FormatValue(k.type, *e.value.constant()) +
                                    " is outside knob '" + k.name + "''s range " + k.type.ToString());
        }
        k.env.push_back(std::move(e));
      }
    }
    for (const RawRule& rr : raw.rules) {
      Rule r;
      r.id = rr.id;
      r.why = rr.why;
      r.refs = rr.refs;
      r.location = rr.where;
      if (raw_.bases.empty() && (!rr.before.empty() || !rr.after.empty())) {
        Error(rr.where, "rule '" + rr.id + "': 'before'/'after' apply only in a policy that extends another");
      }
      if (auto w = CompileExpr(rr.when, -1, &bool_type_)) r.when = std::move(*w);
      if (auto v = CompileExpr(rr.value, -1, type)) r.value = std::move(*v);
      CheckConstantInRange(k, r.value, rr.value.where, "rule '" + rr.id + "' value");
      k.rules.push_back(std::move(r));
    }
    if (!raw.default_value.present) {
      if (!raw.misspelt.count("default")) Error(raw.where, "knob '" + raw.name + "' has no 'default': say what it is when no override or rule applies");
    } else if (auto d = CompileExpr(raw.default_value, -1, type)) {
      k.default_value = std::move(*d);
      CheckConstantInRange(k, k.default_value, raw.default_value.where, "default");
    }
    if (raw.fallback.present) {
      if (auto f = CompileExpr(raw.fallback, -1, type)) {
        if (!f->constant()) {
          Error(raw.fallback.where, "fallback of knob '" + k.name + "' must be a constant value, not '" + f->text() +
                                        "': the gate falls back without evaluating anything");
        } else if (!InRange(k.type, *f->constant())) {
          CheckConstantInRange(k, *f, raw.fallback.where, "fallback");
        } else {
          k.fallback = *f->constant();
        }
      }
    }
    if (!raw.remove_rules.empty() && raw_.bases.empty()) {
      Error(raw.remove_rules[0].second, "'remove_rules' applies only in a policy that extends another");
    }
    for (const Expression* e : KnobExpressions(k)) {
      for (int slot : e->reads()) {
        if (slot == k.slot) {
          Error(raw.where, "knob '" + k.name + "' reads its own value");
          return;
        }
      }
    }
    p_.knobs.push_back(std::move(k));
  }

  void CheckConstantInRange(const Knob& k, const Expression& e, const SourceLocation& where,
                            const std::string& what) {
    if (e.constant() && !InRange(k.type, *e.constant())) {
      Error(where, what + " " + FormatValue(k.type, *e.constant()) + " is outside knob '" + k.name +
                       "''s range " + k.type.ToString());
    }
  }

  static std::vector<const Expression*> KnobExpressions(const Knob& k) {
    std::vector<const Expression*> out;
    for (const EnvOverride& e : k.env) {
      out.push_back(&e.when);
      out.push_back(&e.value);
    }
    for (const Rule& r : k.rules) {
      out.push_back(&r.when);
      out.push_back(&r.value);
    }
    out.push_back(&k.default_value);
    return out;
  }

  // Orders facts and knobs so each comes after everything it reads, keeping
  // declaration order where dependencies allow; reports cycles.
  void OrderByDependency() {
    const int fact_count = static_cast<int>(p_.facts.size());
    const int total = fact_count + static_cast<int>(p_.knobs.size());
    auto step_of_slot = [&](int slot) -> int {
      if (slot >= first_fact_slot_ && slot < first_knob_slot_) return slot - first_fact_slot_;
      if (slot >= first_knob_slot_) return fact_count + (slot - first_knob_slot_);
      return -1;
    };
    std::vector<std::vector<int>> deps(total);
    for (int i = 0; i < fact_count; ++i) {
      for (int slot : p_.facts[i].expr.reads()) deps[i].push_back(step_of_slot(slot));
    }
    for (size_t k = 0; k < p_.knobs.size(); ++k) {
      for (const Expression* e : KnobExpressions(p_.knobs[k])) {
        for (int slot : e->reads()) {
          if (int s = step_of_slot(slot); s >= 0) deps[fact_count + k].push_back(s);
        }
      }
    }
    std::vector<int> state(total, 0);  // 0 new, 1 on the stack, 2 done
    std::vector<int> stack;
    std::function<bool(int)> visit = [&](int s) {
      if (state[s] == 2) return true;
      if (state[s] == 1) {
        auto from = std::find(stack.begin(), stack.end(), s);
        std::vector<std::string> names;
        for (auto it = from; it != stack.end(); ++it) names.push_back(StepName(*it, fact_count));
        names.push_back(StepName(s, fact_count));
        Error(StepLocation(s, fact_count), "dependency cycle: " + Join(names, " -> "));
        return false;
      }
      state[s] = 1;
      stack.push_back(s);
      for (int d : deps[s]) {
        if (d >= 0 && !visit(d)) return false;
      }
      stack.pop_back();
      state[s] = 2;
      if (s < fact_count) p_.order.push_back({EvaluationStep::kFact, s});
      else p_.order.push_back({EvaluationStep::kKnob, s - fact_count});
      return true;
    };
    for (int s = 0; s < total; ++s) {
      if (!visit(s)) return;
    }
  }

  std::string StepName(int s, int fact_count) const {
    return s < fact_count ? p_.facts[s].name : p_.knobs[s - fact_count].name;
  }
  SourceLocation StepLocation(int s, int fact_count) const {
    return s < fact_count ? p_.facts[s].location : p_.knobs[s - fact_count].location;
  }

  static std::string Normalized(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    }
    return out;
  }

  // Rules and overrides that can never fire, duplicate ids, unused facts.
  void Lint() {
    for (const Knob& k : p_.knobs) {
      std::map<std::string, const Rule*> ids;
      const Rule* always = nullptr;
      for (const Rule& r : k.rules) {
        if (auto [it, fresh] = ids.emplace(r.id, &r); !fresh) {
          Error(r.location, "duplicate rule id '" + r.id + "' in knob '" + k.name + "' (first at " +
                                PlaceOf(it->second->location, r.location) + ")");
        }
        if (always) {
          Error(r.location, "rule '" + r.id + "' can never fire: rule '" + always->id + "' (" +
                                PlaceOf(always->location, r.location) + ") always matches before it");
          continue;
        }
        if (r.when.constant()) {
          if (r.when.constant()->number) always = &r;
          else Error(r.location, "rule '" + r.id + "' can never fire: its condition is always false");
          continue;
        }
        for (const Rule& earlier : k.rules) {
          if (&earlier == &r) break;
          if (Normalized(earlier.when.text()) == Normalized(r.when.text())) {
            Error(r.location, "rule '" + r.id + "' can never fire: rule '" + earlier.id + "' (" +
                                  PlaceOf(earlier.location, r.location) + ") has the same condition");
            break;
          }
        }
      }
      for (size_t i = 0; i < k.env.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          const EnvOverride& first = k.env[j];
          if (first.var == k.env[i].var && !first.has_condition && first.value.constant()) {
            Error(k.env[i].location, "this override of " + k.env[i].var + " can never fire: the one at " +
                                         PlaceOf(first.location, k.env[i].location) + " always applies when it is set");
            break;
          }
        }
      }
    }
    for (const DerivedFact& f : p_.facts) {
      bool used = false;
      for (const DerivedFact& g : p_.facts) {
        for (int slot : g.expr.reads()) used |= slot == f.slot;
      }
      for (const Knob& k : p_.knobs) {
        for (const Expression* e : KnobExpressions(k)) {
          for (int slot : e->reads()) used |= slot == f.slot;
        }
      }
      if (!used) p_.warnings.Warning(f.location, "fact '" + f.name + "' is never used");
    }
  }

  const RawPolicy& raw_;
  Diagnostics& diagnostics_;
  Policy p_;
  std::map<std::string, int> names_;
  std::map<std::string, int> env_by_name_;
  int first_fact_slot_ = 0;
  int first_knob_slot_ = 0;
  std::vector<FactState> fact_state_;
  std::vector<int> fact_stack_;  // facts being compiled, outermost first
  bool cycle_reported_ = false;
  const Type bool_type_ = Type::Bool();
};

// ---- Files and extends ------------------------------------------------------

class Loader {
 public:
  explicit Loader(const LoadLimits& limits) : limits_(limits) {}

  // Reads and merges `text` and its bases; nullopt after reporting.
  std::optional<RawPolicy> ReadChain(std::string_view text, const std::string& file, int depth,
                                     std::vector<std::string>& chain) {
    YamlReader reader(file, limits_, diagnostics_);
    std::optional<YAML::Node> root = reader.Parse(text);
    if (!root) return std::nullopt;
    std::optional<RawPolicy> raw = reader.Read(*root);
    if (!raw || raw->extends.empty()) return raw;

    const std::string base_file = ResolveBase(file, raw->extends);
    if (std::find(chain.begin(), chain.end(), base_file) != chain.end()) {
      diagnostics_.Error(raw->extends_where, "extends: '" + raw->extends + "' leads back to " +
                                                 base_file + ": a cycle");
      return std::nullopt;
    }
    if (depth >= limits_.max_extends) {
      diagnostics_.Error(raw->extends_where, "extends: chain longer than " +
                                                 std::to_string(limits_.max_extends) + " files");
      return std::nullopt;
    }
    std::string base_text;
    if (base_file == kBuiltinDefaultPolicyName) {
      base_text = std::string(BuiltinDefaultPolicyText());
    } else {
      auto read = ReadTextFile(base_file, limits_.max_file_bytes);
      if (!read.ok()) {
        diagnostics_.Error(raw->extends_where, "extends: cannot read '" + base_file + "': " + read.error());
        return std::nullopt;
      }
      base_text = std::move(read).value();
    }
    chain.push_back(base_file);
    std::optional<RawPolicy> base = ReadChain(base_text, base_file, depth + 1, chain);
    if (!base) return std::nullopt;
    RawPolicy merged = MergeOverlay(std::move(*base), std::move(*raw), diagnostics_);
    return merged;
  }

  Expected<Policy, LoadError> Load(std::string_view text, const std::string& file) {
    std::vector<std::string> chain{file};
    std::optional<RawPolicy> raw = ReadChain(text, file, 0, chain);
    // Compile what could be read even after errors in reading it, so one
    // run reports a misspelt key and a type error elsewhere together.
    if (raw) {
      PolicyCompiler compiler(*raw, diagnostics_);
      std::optional<Policy> policy = compiler.Compile();
      if (policy && !diagnostics_.has_errors()) return std::move(*policy);
    }
    diagnostics_.SortByLocation();
    diagnostics_.Truncate(limits_.max_errors);
    return Fail(LoadError{LoadError::kInvalid, std::move(diagnostics_)});
  }

 private:
  static std::string ResolveBase(const std::string& file, const std::string& extends) {
    if (extends == kBuiltinDefaultPolicyName) return extends;
    std::filesystem::path p(extends);
    if (p.is_relative() && file != kBuiltinDefaultPolicyName) {
      p = std::filesystem::path(file).parent_path() / p;
    }
    return p.lexically_normal().string();
  }

  const LoadLimits& limits_;
  Diagnostics diagnostics_;
};

}  // namespace

Expected<Policy, LoadError> LoadPolicyText(std::string_view text, const std::string& file_name,
                                           const LoadLimits& limits) {
  return Loader(limits).Load(text, file_name);
}

Expected<Policy, LoadError> LoadPolicyFile(const std::string& path, const LoadLimits& limits) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > limits.max_file_bytes) {
    LoadError error{LoadError::kInvalid, {}};
    error.diagnostics.Error({path, 1, 1}, "file is " + std::to_string(size) + " bytes; the limit is " +
                                              std::to_string(limits.max_file_bytes));
    return Fail(std::move(error));
  }
  auto read = ReadTextFile(path, limits.max_file_bytes);
  if (!read.ok()) {
    LoadError error{LoadError::kUnreadable, {}};
    error.diagnostics.Error({path, 0, 0}, read.error());
    return Fail(std::move(error));
  }
  return LoadPolicyText(*read, path, limits);
}

}  // namespace kpolicy
