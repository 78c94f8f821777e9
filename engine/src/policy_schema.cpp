#include "policy_schema.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "kpolicy/limits.h"
#include "kpolicy/spelling.h"

namespace kpolicy {

namespace {

constexpr int kSchemaVersion = 1;

bool IsRuleId(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}


std::optional<RawPolicy> PolicySchemaReader::Read(const YAML::Node& root) {
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
    if (e.IsScalar() && p.extends.empty()) {
      Error(Loc(e), "'extends' is empty: name the base policy (a file, or builtin:default), or leave the key out");
    }
  }
  if (YAML::Node facts = Get(root, "facts")) ReadFacts(facts, p);
  if (YAML::Node knobs = Get(root, "knobs")) {
    ReadKnobs(knobs, p);
  } else if (p.extends.empty() && !misspelt.count("knobs")) {
    Error(Loc(root), "missing 'knobs': a policy decides at least one knob");
  }
  // Past a count limit the rest was not read: compiling the part that was
  // would report names it lacks, for nothing.
  if (facts_ > limits::kFacts || knobs_ > limits::kKnobs || rules_ > limits::kRules ||
      overrides_ > limits::kOverrides) {
    return std::nullopt;
  }
  return p;
}

bool PolicySchemaReader::Count(size_t& count, size_t limit, const YAML::Node& node, const char* what) {
  if (++count <= limit) return true;
  if (count == limit + 1) {
    Error(Loc(node), "more than " + std::to_string(limit) + " " + what + " in one policy (the limit)");
  }
  return false;
}

RawExpr PolicySchemaReader::Expr(const YAML::Node& node, const std::string& what) {
  RawExpr e;
  e.where = Loc(node);
  if (!node.IsScalar()) {
    Error(e.where, "'" + what + "' must be an expression, not a " + Kind(node));
    return e;
  }
  if (node.Scalar().size() > limits::kExpressionBytes) {
    Error(e.where, "'" + what + "' is " + std::to_string(node.Scalar().size()) +
                       " characters long; the limit for an expression is " + std::to_string(limits::kExpressionBytes));
    e.present = e.refused = true;
    return e;
  }
  e.text = node.Scalar();
  e.positions = LocateScalarText(node, e.text);
  e.present = true;
  return e;
}

void PolicySchemaReader::ReadFacts(const YAML::Node& facts, RawPolicy& p) {
  if (!facts.IsMap()) {
    Error(Loc(facts), "'facts' maps names to expressions, not a " + Kind(facts));
    return;
  }
  CheckKeys(facts, {}, "facts");  // facts are free-form: duplicates only
  for (auto it = facts.begin(); it != facts.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    if (!Count(facts_, limits::kFacts, it->first, "facts")) break;
    RawFact f;
    f.name = it->first.Scalar();
    f.where = Loc(it->first);
    f.expr = Expr(it->second, "facts." + f.name);
    p.facts.push_back(std::move(f));
  }
}

void PolicySchemaReader::ReadKnobs(const YAML::Node& knobs, RawPolicy& p) {
  if (!knobs.IsMap()) {
    Error(Loc(knobs), "'knobs' maps knob names to their definitions, not a " + Kind(knobs));
    return;
  }
  if (knobs.size() == 0 && p.extends.empty()) {
    Error(Loc(knobs), "'knobs' is empty: a policy decides at least one knob");
    return;
  }
  std::map<std::string, SourceLocation> seen;
  for (auto it = knobs.begin(); it != knobs.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(Loc(it->first), "knob names are plain names, not a " + Kind(it->first));
      continue;
    }
    if (!Count(knobs_, limits::kKnobs, it->first, "knobs")) break;
    RawKnob k;
    k.name = it->first.Scalar();
    k.where = Loc(it->first);
    auto [previous, inserted] = seen.emplace(k.name, k.where);
    if (!inserted) {
      Error(k.where, "duplicate knob '" + k.name + "' (first at " + LineOf(previous->second) + ")");
      continue;
    }
    // A copy: `it->second` belongs to a temporary that dies with this
    // statement (AddressSanitizer: stack-use-after-scope).
    const YAML::Node body = it->second;
    if (!body.IsMap()) {
      Error(Loc(body), "knob '" + k.name + "' must be a mapping with type, rules and default, not a " +
                           Kind(body));
      continue;
    }
    ReadKnob(body, k);
    p.knobs.push_back(std::move(k));
  }
}

void PolicySchemaReader::ReadKnob(const YAML::Node& body, RawKnob& k) {
  const std::string context = "knob '" + k.name + "'";
  k.misspelt = CheckKeys(body, {"type", "doc", "env", "rules", "default", "fallback", "remove_rules", "requires"},
                         context);
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
      for (auto it = env.begin(); it != env.end(); ++it) {
        if (!Count(overrides_, limits::kOverrides, *it, "environment overrides")) break;
        k.env->push_back(ReadEnv(*it, k.name));
      }
    }
  }
  if (YAML::Node rules = Get(body, "rules")) {
    if (!rules.IsSequence()) {
      Error(Loc(rules), "'rules' of " + context + " is a list of rules, not a " + Kind(rules));
    } else {
      for (auto it = rules.begin(); it != rules.end(); ++it) {
        if (!Count(rules_, limits::kRules, *it, "rules")) break;
        k.rules.push_back(ReadRule(*it, k.name));
      }
    }
  }
  if (YAML::Node d = Get(body, "default")) ReadDefault(d, k);
  if (YAML::Node r = Get(body, "requires")) {
    k.constraints.emplace();
    if (r.IsMap()) {
      k.constraints->push_back(ReadConstraint(r, k.name));
    } else if (r.IsSequence()) {
      for (auto it = r.begin(); it != r.end(); ++it) k.constraints->push_back(ReadConstraint(*it, k.name));
    } else {
      Error(Loc(r), "'requires' of " + context + " is a constraint {condition, on_fail, message} or a list of them");
    }
  }
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

void PolicySchemaReader::ReadDefault(const YAML::Node& d, RawKnob& k) {
  if (!d.IsMap()) {
    k.default_value = Expr(d, k.name + ".default");
    return;
  }
  const std::string context = "the default of knob '" + k.name + "'";
  const Misspelt misspelt = CheckKeys(d, {"value", "why", "refs"}, context);
  if (YAML::Node v = Get(d, "value")) k.default_value = Expr(v, k.name + ".default");
  else if (!misspelt.count("value")) Error(Loc(d), "missing 'value' in " + context);
  if (YAML::Node w = Get(d, "why")) k.default_why = String(w, "why");
  if (YAML::Node refs = Get(d, "refs")) k.default_refs = Refs(refs);
}

std::vector<std::string> PolicySchemaReader::Refs(const YAML::Node& refs) {
  std::vector<std::string> out;
  if (refs.IsScalar()) {
    out.push_back(refs.Scalar());
  } else if (refs.IsSequence()) {
    for (auto it = refs.begin(); it != refs.end(); ++it) out.push_back(String(*it, "refs"));
  } else {
    Error(Loc(refs), "'refs' is a list of references, not a " + Kind(refs));
  }
  return out;
}

RawConstraint PolicySchemaReader::ReadConstraint(const YAML::Node& node, const std::string& knob) {
  RawConstraint c;
  c.where = Loc(node);
  const std::string context = "a constraint of knob '" + knob + "'";
  if (!node.IsMap()) {
    Error(c.where, context + " is a mapping {condition, on_fail, message}, not a " + Kind(node));
    return c;
  }
  const Misspelt misspelt = CheckKeys(node, {"condition", "on_fail", "message"}, context);
  if (YAML::Node cond = Get(node, "condition")) c.condition = Expr(cond, knob + ".requires.condition");
  else if (!misspelt.count("condition")) Error(c.where, "missing 'condition' in " + context);
  c.message = RequiredString(node, "message", context, misspelt);
  c.on_fail = "stop";
  if (YAML::Node f = Get(node, "on_fail")) {
    c.on_fail = String(f, "on_fail");
    if (f.IsScalar() && c.on_fail != "stop" && c.on_fail != "fallback-and-warn") {
      Error(Loc(f), "on_fail is 'fallback-and-warn' (take the knob's fallback and warn) or 'stop' (fail closed), not '" +
                        c.on_fail + "'" + DidYouMean(c.on_fail, {"fallback-and-warn", "stop"}));
    }
  }
  return c;
}

std::optional<Type> PolicySchemaReader::ReadType(const YAML::Node& t, const std::string& knob) {
  const std::vector<std::string> kinds = {"bool", "int", "string", "version", "enum"};
  if (t.IsScalar()) {
    const std::string& s = t.Scalar();
    if (s == "bool") return Type::Bool();
    if (s == "int") return Type::Int();
    if (s == "string") return Type::String();
    if (s == "version") return Type::Version();
    if (s == "enum") {
      Error(Loc(t), "an enum lists its members: type: {enum: [A, B]}");
      return std::nullopt;
    }
    Error(Loc(t), "unknown type '" + s + "' for knob '" + knob + "'" + DidYouMean(s, kinds) +
                      "; types: bool, int, {int: [MIN, MAX]}, string, version, {enum: [A, B, ...]}");
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
    if (arg.size() > limits::kEnumMembers) {
      Error(Loc(arg), "an enum of " + std::to_string(arg.size()) + " members; the limit is " +
                          std::to_string(limits::kEnumMembers));
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

RawEnv PolicySchemaReader::ReadEnv(const YAML::Node& node, const std::string& knob) {
  RawEnv e;
  e.where = Loc(node);
  const std::string context = "an env override of knob '" + knob + "'";
  if (!node.IsMap()) {
    Error(e.where, context + " is a mapping {var: NAME, when: set, value: ...}, not a " + Kind(node));
    return e;
  }
  const Misspelt misspelt = CheckKeys(node, {"var", "when", "value", "why"}, context);
  if (YAML::Node w = Get(node, "why")) e.why = String(w, "why");
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

RawRule PolicySchemaReader::ReadRule(const YAML::Node& node, const std::string& knob) {
  RawRule r;
  r.where = Loc(node);
  const std::string context = "a rule of knob '" + knob + "'";
  if (!node.IsMap()) {
    Error(r.where, context + " is a mapping {id, when, value, why, refs}, not a " + Kind(node));
    return r;
  }
  const Misspelt misspelt = CheckKeys(node, {"id", "when", "value", "why", "refs", "evidence", "before", "after"}, context);
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
  if (YAML::Node refs = Get(node, "refs")) r.refs = Refs(refs);
  if (YAML::Node e = Get(node, "evidence")) r.evidence = Refs(e);
  if (YAML::Node b = Get(node, "before")) r.before = String(b, "before");
  if (YAML::Node a = Get(node, "after")) r.after = String(a, "after");
  if (!r.before.empty() && !r.after.empty()) {
    Error(r.where, named + " has both 'before' and 'after'; give one");
  }
  return r;
}

}  // namespace kpolicy
