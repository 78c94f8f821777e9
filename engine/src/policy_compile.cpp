#include "policy_compile.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expression.h"
#include "kpolicy/limits.h"

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
    if (!WithinCountLimits()) return std::nullopt;
    p_.name = raw_.name;
    p_.version = raw_.version;
    p_.description = raw_.description;
    p_.file = raw_.file;
    p_.bases = raw_.bases;
    p_.gate_failure_is_fatal = raw_.on_gate_failure == "fatal";
    AssignSlots();
    p_.facts.resize(raw_.facts.size());
    for (size_t i = 0; i < raw_.facts.size(); ++i) InitFact(static_cast<int>(i));
    // A fact's type is its expression's, so facts compile after the facts
    // they read; a cycle among them is reported here.
    for (int index : FactCompileOrder()) CompileFact(index);
    for (const RawKnob& k : raw_.knobs) CompileKnob(k);
    if (diagnostics_.has_errors()) return std::nullopt;
    OrderByDependency();
    if (diagnostics_.has_errors()) return std::nullopt;
    CheckConstantParts();
    Lint();
    if (diagnostics_.has_errors()) return std::nullopt;
    return std::move(p_);
  }

 private:
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
        p_.env_index.emplace(e.var, static_cast<int>(p_.env_slots.size()));
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
    // Past the reported-error limit nothing more is shown, so nothing more
    // is compiled (each unknown name costs a "did you mean" search).
    if (!e.present || e.refused || diagnostics_.error_count() >= limits::kReportedErrors) return std::nullopt;
    Scope scope(*this, env_slot);
    auto compiled = Expression::Compile(e.text, TextLocations(e.where, e.positions), scope, expected);
    if (!compiled.ok()) {
      diagnostics_.Append(compiled.error());
      return std::nullopt;
    }
    return std::move(compiled).value();
  }

  // The merged policy within limits.h's counts (each file was held to them
  // when read; eight files of an extends: chain could hold eight times as
  // many). Reported at the first element past the limit.
  bool WithinCountLimits() {
    size_t rules = 0, overrides = 0;
    bool ok = true;
    auto check = [&](size_t count, size_t limit, const SourceLocation& where, const char* what) {
      if (count != limit + 1) return;
      Error(where, "more than " + std::to_string(limit) + " " + what + " in one policy (the limit), its bases included");
      ok = false;
    };
    if (raw_.facts.size() > limits::kFacts) check(limits::kFacts + 1, limits::kFacts, raw_.facts[limits::kFacts].where, "facts");
    if (raw_.knobs.size() > limits::kKnobs) check(limits::kKnobs + 1, limits::kKnobs, raw_.knobs[limits::kKnobs].where, "knobs");
    for (const RawKnob& k : raw_.knobs) {
      for (const RawRule& r : k.rules) check(++rules, limits::kRules, r.where, "rules");
      if (!k.env) continue;
      for (const RawEnv& e : *k.env) check(++overrides, limits::kOverrides, e.where, "environment overrides");
    }
    return ok;
  }

  void InitFact(int index) {
    const RawFact& f = raw_.facts[index];
    DerivedFact& out = p_.facts[index];
    out.name = f.name;
    out.location = f.where;
    out.slot = first_fact_slot_ + index;
  }

  // The facts in an order where each comes after the facts its expression
  // names: an iterative depth-first walk (no recursion, whatever the length
  // of a chain). The facts of a cycle are reported and left out.
  std::vector<int> FactCompileOrder() {
    const int count = static_cast<int>(raw_.facts.size());
    std::vector<std::vector<int>> reads(count);
    for (int i = 0; i < count; ++i) {
      for (const std::string& name : Expression::NamesIn(raw_.facts[i].expr.text)) {
        auto it = names_.find(name);
        if (it != names_.end() && it->second >= first_fact_slot_ && it->second < first_knob_slot_) {
          reads[i].push_back(it->second - first_fact_slot_);
        }
      }
    }
    std::vector<int> order;
    WalkDependencies(reads, [&](int i) { order.push_back(i); },
                     [&](const std::vector<int>& cycle) {
                       std::vector<std::string> names;
                       for (int i : cycle) names.push_back(raw_.facts[i].name);
                       Error(raw_.facts[cycle.back()].where, "dependency cycle: " + Join(names, " -> "));
                     });
    // After a cycle the walk stops; the facts it did not reach still
    // compile, so their own mistakes are reported too.
    std::vector<bool> ordered(count, false);
    for (int i : order) ordered[i] = true;
    for (int i = 0; i < count; ++i) {
      if (!ordered[i]) order.push_back(i);
    }
    return order;
  }

  // Depth-first over `deps` (node -> the nodes it reads) with an explicit
  // stack: `done(n)` for each node after everything it reads; `cycle(path)`
  // once for the first cycle met (path from the node that closes it back to
  // itself), after which the walk stops.
  template <typename Done, typename Cycle>
  static void WalkDependencies(const std::vector<std::vector<int>>& deps, Done done, Cycle cycle) {
    const int count = static_cast<int>(deps.size());
    std::vector<int> state(count, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<int, size_t>> path;  // node, next dependency to visit
    for (int start = 0; start < count; ++start) {
      if (state[start] != 0) continue;
      path.push_back({start, 0});
      state[start] = 1;
      while (!path.empty()) {
        auto& [node, next] = path.back();
        if (next == deps[node].size()) {
          state[node] = 2;
          done(node);
          path.pop_back();
          continue;
        }
        const int d = deps[node][next++];
        if (d < 0 || state[d] == 2) continue;
        if (state[d] == 1) {
          std::vector<int> names;
          auto from = std::find_if(path.begin(), path.end(), [&](const auto& entry) { return entry.first == d; });
          for (auto it = from; it != path.end(); ++it) names.push_back(it->first);
          names.push_back(d);
          cycle(names);
          return;
        }
        state[d] = 1;
        path.push_back({d, 0});
      }
    }
  }

  void CompileFact(int index) {
    DerivedFact& out = p_.facts[index];
    if (auto e = CompileExpr(raw_.facts[index].expr, -1, nullptr)) {
      p_.slots[out.slot].type = e->type();
      out.expr = std::move(*e);
    }
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
  // declaration order where dependencies allow; reports cycles, and chains
  // longer than limits::kDependencyDepth.
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
    std::vector<int> depth(total, 1), deepest_read(total, -1);
    bool cycle = false;
    WalkDependencies(
        deps,
        [&](int s) {
          for (int d : deps[s]) {
            if (d >= 0 && depth[d] + 1 > depth[s]) {
              depth[s] = depth[d] + 1;
              deepest_read[s] = d;
            }
          }
          if (s < fact_count) p_.order.push_back({EvaluationStep::kFact, s});
          else p_.order.push_back({EvaluationStep::kKnob, s - fact_count});
        },
        [&](const std::vector<int>& path) {
          std::vector<std::string> names;
          for (int s : path) names.push_back(StepName(s, fact_count));
          Error(StepLocation(path.back(), fact_count), "dependency cycle: " + Join(names, " -> "));
          cycle = true;
        });
    if (cycle) return;
    const auto deepest = std::max_element(depth.begin(), depth.end());
    if (deepest != depth.end() && *deepest > limits::kDependencyDepth) {
      std::vector<std::string> chain;
      for (int s = static_cast<int>(deepest - depth.begin()); s >= 0 && chain.size() < 4; s = deepest_read[s]) {
        chain.push_back(StepName(s, fact_count));
      }
      Error(StepLocation(static_cast<int>(deepest - depth.begin()), fact_count),
            "a chain of " + std::to_string(*deepest) + " facts and knobs, each reading the next (" +
                Join(chain, " -> ") + " -> ...); the limit is " + std::to_string(limits::kDependencyDepth));
    }
  }

  // Facts that read only facts of one value have one value too. Computing
  // them in dependency order finds the ones that fail whatever the device
  // (a chain of facts doubling a string past limits::kStringBytes,
  // int(fact) of a fact that is no number), and the rule and default
  // expressions that read only such facts and fail. (An expression that
  // reads nothing was checked when it compiled.)
  void CheckConstantParts() {
    std::vector<Value> values(p_.slots.size());
    std::vector<bool> known(p_.slots.size(), false);
    // The value of `e` when it reads only known slots (and some), else nullopt.
    auto compute = [&](const Expression& e, const std::string& what) -> std::optional<Value> {
      if (e.reads().empty() || !std::all_of(e.reads().begin(), e.reads().end(), [&](int s) { return known[s]; })) {
        return e.constant();
      }
      auto v = e.Evaluate(values);
      if (v.ok()) return std::move(v).value();
      Error(v.error().place, what + " always fails, whatever the device: " + v.error().message);
      return std::nullopt;
    };
    for (const EvaluationStep& step : p_.order) {
      if (step.kind == EvaluationStep::kFact) {
        const DerivedFact& f = p_.facts[step.index];
        if (auto v = compute(f.expr, "fact '" + f.name + "'")) {
          values[f.slot] = std::move(*v);
          known[f.slot] = true;
        }
        continue;
      }
      const Knob& k = p_.knobs[step.index];
      for (const Rule& r : k.rules) {
        compute(r.when, "rule '" + r.id + "' of knob '" + k.name + "'");
        compute(r.value, "rule '" + r.id + "' of knob '" + k.name + "'");
      }
      compute(k.default_value, "the default of knob '" + k.name + "'");
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
  // Each check keeps a map of what it has seen, so the cost is n log n in
  // the rules, overrides and facts.
  void Lint() {
    for (const Knob& k : p_.knobs) {
      std::map<std::string, const Rule*> ids, conditions;
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
        if (auto [earlier, fresh] = conditions.emplace(Normalized(r.when.text()), &r); !fresh) {
          Error(r.location, "rule '" + r.id + "' can never fire: rule '" + earlier->second->id + "' (" +
                                PlaceOf(earlier->second->location, r.location) + ") has the same condition");
        }
      }
      std::map<std::string, const EnvOverride*> unconditional;  // var -> its first override that always applies
      for (const EnvOverride& e : k.env) {
        if (auto it = unconditional.find(e.var); it != unconditional.end()) {
          Error(e.location, "this override of " + e.var + " can never fire: the one at " +
                                PlaceOf(it->second->location, e.location) + " always applies when it is set");
          continue;
        }
        if (!e.has_condition && e.value.constant()) unconditional.emplace(e.var, &e);
      }
    }
    std::vector<bool> read(p_.slots.size(), false);
    for (const DerivedFact& g : p_.facts) {
      for (int slot : g.expr.reads()) read[slot] = true;
    }
    for (const Knob& k : p_.knobs) {
      for (const Expression* e : KnobExpressions(k)) {
        for (int slot : e->reads()) read[slot] = true;
      }
    }
    for (const DerivedFact& f : p_.facts) {
      if (!read[f.slot]) p_.warnings.Warning(f.location, "fact '" + f.name + "' is never used");
    }
  }

  const RawPolicy& raw_;
  Diagnostics& diagnostics_;
  Policy p_;
  std::map<std::string, int> names_;
  std::map<std::string, int> env_by_name_;
  int first_fact_slot_ = 0;
  int first_knob_slot_ = 0;
  const Type bool_type_ = Type::Bool();
};

}  // namespace

std::optional<Policy> CompilePolicy(const RawPolicy& raw, Diagnostics& diagnostics) {
  return PolicyCompiler(raw, diagnostics).Compile();
}

}  // namespace kpolicy
