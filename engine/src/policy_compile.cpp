#include "policy_compile.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expression.h"

namespace kpolicy {

namespace {

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// "line 8", or "base.yaml:8" when `loc` is in another file than `from`
// (an overlay's rule next to its base's).
std::string PlaceOf(const SourceLocation& loc, const SourceLocation& from) {
  if (loc.file == from.file) return LineOf(loc);
  return loc.file + ":" + std::to_string(loc.line);
}

struct FactSlot {
  const char* name;
  TypeKind kind;
};
const FactSlot kDeviceSlots[kDeviceSlotCount] = {
    {"device.cc", TypeKind::kInt},           {"device.cc_major", TypeKind::kInt},
    {"device.cc_minor", TypeKind::kInt},     {"device.num_sms", TypeKind::kInt},
    {"device.name", TypeKind::kString},      {"device.memory_mib", TypeKind::kInt},
    {"device.bandwidth_gbps", TypeKind::kInt}, {"device.driver", TypeKind::kVersion},
    {"device.cuda_runtime", TypeKind::kVersion}, {"device.memory_free_mib", TypeKind::kInt},
    {"model.architecture", TypeKind::kString}, {"model.name", TypeKind::kString},
    {"model.quantisation", TypeKind::kString}, {"model.size", TypeKind::kString}};

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
    for (const FactSlot& fact : kDeviceSlots) {
      names_[fact.name] = AddSlot(fact.name, Type{fact.kind, {}});
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
        e.why = re.why;
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
      r.evidence = rr.evidence;
      r.location = rr.where;
      if (raw_.bases.empty() && (!rr.before.empty() || !rr.after.empty())) {
        Error(rr.where, "rule '" + rr.id + "': 'before'/'after' apply only in a policy that extends another");
      }
      if (auto w = CompileExpr(rr.when, -1, &bool_type_)) r.when = std::move(*w);
      if (auto v = CompileExpr(rr.value, -1, type)) r.value = std::move(*v);
      CheckConstantInRange(k, r.value, rr.value.where, "rule '" + rr.id + "' value");
      if (!r.evidence.empty() && rr.value.present && !r.value.constant() && !diagnostics_.has_errors()) {
        Error(rr.value.where, "rule '" + rr.id + "' asks for evidence, so its value must be a constant: the records "
                              "prove contracts for one value");
      }
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
          k.fallback_location = raw.fallback.where;
        }
      }
    }
    k.default_why = raw.default_why;
    k.default_refs = raw.default_refs;
    CompileConstraints(raw, k);
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

  void CompileConstraints(const RawKnob& raw, Knob& k) {
    if (!raw.constraints) return;
    for (const RawConstraint& rc : *raw.constraints) {
      Constraint c;
      c.message = rc.message;
      c.location = rc.where;
      c.on_fail = rc.on_fail == "fallback-and-warn" ? Constraint::kFallbackAndWarn : Constraint::kStop;
      if (c.on_fail == Constraint::kFallbackAndWarn && !raw.fallback.present) {
        Error(rc.where, "constraint of knob '" + k.name + "' says on_fail: fallback-and-warn, but the knob has no "
                        "'fallback' to take");
      }
      if (auto cond = CompileExpr(rc.condition, -1, &bool_type_)) {
        if (cond->constant() && !cond->constant()->number) {
          Error(rc.where, "constraint of knob '" + k.name + "' can never hold: its condition is always false");
        }
        c.condition = std::move(*cond);
      }
      k.constraints.push_back(std::move(c));
    }
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
      std::vector<const Expression*> read = KnobExpressions(p_.knobs[k]);
      for (const Constraint& c : p_.knobs[k].constraints) read.push_back(&c.condition);
      for (const Expression* e : read) {
        for (int slot : e->reads()) {
          if (slot == p_.knobs[k].slot) continue;  // a constraint reads its own knob
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
        if (!r.evidence.empty()) continue;  // fires only where records prove it
        if (r.when.constant()) {
          if (r.when.constant()->number) always = &r;
          else Error(r.location, "rule '" + r.id + "' can never fire: its condition is always false");
          continue;
        }
        for (const Rule& earlier : k.rules) {
          if (&earlier == &r) break;
          if (!earlier.evidence.empty()) continue;
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

}  // namespace

std::optional<Policy> CompilePolicy(const RawPolicy& raw, Diagnostics& diagnostics) {
  return PolicyCompiler(raw, diagnostics).Compile();
}

}  // namespace kpolicy
