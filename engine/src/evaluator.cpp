#include "kpolicy/evaluator.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "kpolicy/spelling.h"

namespace kpolicy {

int KnobTrace::rules_tried() const {
  if (decided_by == kRule) return index;
  if (decided_by == kDefault && knob) return static_cast<int>(knob->rules.size());
  return 0;
}

std::string Decision::ValueText(const Knob& knob) const {
  return FormatValue(knob.type, value(knob));
}

namespace {

// An expression's failure, said of `what` failed; at the expression's place,
// else at `where`.
Error InContext(Error error, const SourceLocation& where, const std::string& what) {
  if (!error.place.known()) error.place = where;
  error.message = what + ": " + error.message;
  return error;
}

// A version the policy can compare, or unknown ("").
Value VersionOrUnknown(const std::string& text) { return Value::String(IsVersionText(text) ? text : ""); }

void FillFactSlots(const DeviceFacts& d, const ModelFacts& m, std::vector<Value>& slots) {
  slots[kSlotCc] = Value::Int(d.cc());
  slots[kSlotCcMajor] = Value::Int(d.cc_major);
  slots[kSlotCcMinor] = Value::Int(d.cc_minor);
  slots[kSlotNumSms] = Value::Int(d.num_sms);
  slots[kSlotName] = Value::String(d.name);
  slots[kSlotMemoryMib] = Value::Int(d.memory_mib);
  slots[kSlotBandwidthGbps] = Value::Int(d.bandwidth_gbps);
  slots[kSlotDriver] = VersionOrUnknown(d.driver_version);
  slots[kSlotCudaRuntime] = VersionOrUnknown(d.runtime_version);
  slots[kSlotMemoryFreeMib] = Value::Int(d.memory_free_mib);
  slots[kSlotModelArchitecture] = Value::String(m.architecture);
  slots[kSlotModelName] = Value::String(m.name);
  slots[kSlotModelQuantisation] = Value::String(m.quantisation);
  slots[kSlotModelSize] = Value::String(m.size);
}

// Values that people write meaning "off"; a presence-only variable set to
// one of them still fires, which is the seed's behaviour and a classic trap.
bool LooksLikeOff(const std::string& v) {
  return v.empty() || v == "0" || v == "false" || v == "no" || v == "off";
}

class KnobEvaluator {
 public:
  KnobEvaluator(const Policy& p, Decision& d, const EvidenceOracle* evidence, EvaluationBudget* budget)
      : d_(d), evidence_(evidence), budget_(budget), set_(p.slots.size(), false) {
    for (size_t i = 0; i < p.env_slots.size(); ++i) set_[p.env_slots[i]] = d.env_set[i];
  }

  // Decides `knob` into its slot, recording the trace, then holds the value
  // to the knob's constraints.
  std::optional<Error> Decide(const Knob& knob, KnobTrace& trace) {
    if (auto error = Choose(knob, trace)) return error;
    return ApplyConstraints(knob, trace);
  }

 private:
  std::optional<Error> Choose(const Knob& knob, KnobTrace& trace) {
    trace.knob = &knob;
    trace.env.assign(knob.env.size(), EnvCheck{});
    if (budget_) budget_->Spend(1 + knob.env.size());  // the trace of every override
    if (TryOverrides(knob, trace)) return std::nullopt;
    for (size_t i = 0; i < knob.rules.size(); ++i) {
      const Rule& rule = knob.rules[i];
      auto fires = rule.when.Evaluate(d_.slots, budget_);
      if (!fires.ok()) {
        return InContext(std::move(fires).error(), rule.location, "rule '" + rule.id + "' of knob '" + knob.name + "'");
      }
      if (!fires->number) continue;
      if (!rule.evidence.empty() && !Proven(knob, rule, trace, i)) continue;
      trace.decided_by = KnobTrace::kRule;
      trace.index = static_cast<int>(i);
      return Store(knob, rule.value, rule.location, "rule '" + rule.id + "'");
    }
    trace.decided_by = KnobTrace::kDefault;
    return Store(knob, knob.default_value, knob.location, "the default");
  }

  // The first constraint that fails decides: its fallback (which must meet
  // every constraint too) or a stop.
  std::optional<Error> ApplyConstraints(const Knob& knob, KnobTrace& trace) {
    for (size_t i = 0; i < knob.constraints.size(); ++i) {
      const Constraint& c = knob.constraints[i];
      auto holds = c.condition.Evaluate(d_.slots, budget_);
      if (!holds.ok()) return InContext(std::move(holds).error(), c.location, "constraint of knob '" + knob.name + "'");
      if (holds->number) continue;
      const std::string refusal = "refused: " + knob.name + " = " + d_.ValueText(knob) + ": " + c.message;
      if (c.on_fail == Constraint::kStop || !knob.fallback || trace.refused_by >= 0) {
        const std::string why = trace.refused_by >= 0 ? " (after taking the fallback for another constraint)" : "";
        return Error(ErrorCode::kInvalidInput, c.location, refusal + why + " [on_fail: stop]");
      }
      trace.refused_by = static_cast<int>(i);
      trace.refused_value = d_.ValueText(knob);
      d_.slots[knob.slot] = *knob.fallback;
      d_.warnings.push_back(refusal + "; took the fallback " + d_.ValueText(knob));
      i = static_cast<size_t>(-1);  // the fallback meets every constraint, or stops
    }
    return std::nullopt;
  }

  std::optional<Error> Store(const Knob& knob, const Expression& e, const SourceLocation& where,
                             const std::string& what) {
    auto v = e.Evaluate(d_.slots, budget_);
    if (!v.ok()) return InContext(std::move(v).error(), where, "knob '" + knob.name + "', " + what);
    if (!InRange(knob.type, *v)) {
      return Error(ErrorCode::kInvalidInput, where,
                   "knob '" + knob.name + "', " + what + ": " + FormatValue(knob.type, *v) + " is outside " +
                       knob.type.ToString());
    }
    d_.slots[knob.slot] = std::move(v).value();
    return std::nullopt;
  }

  bool TryOverrides(const Knob& knob, KnobTrace& trace) {
    int applied = -1;
    for (size_t i = 0; i < knob.env.size(); ++i) {
      const EnvOverride& e = knob.env[i];
      EnvCheck& check = trace.env[i];
      if (!IsSet(e.var_slot)) continue;  // kNotSet
      if (applied >= 0) {
        check.outcome = EnvCheck::kShadowed;
        continue;
      }
      if (e.has_condition) {
        auto holds = e.when.Evaluate(d_.slots, budget_);
        if (!holds.ok()) {
          Ignore(knob, e, check, holds.error().message);
          continue;
        }
        if (!holds->number) {
          check.outcome = EnvCheck::kConditionFalse;
          continue;
        }
      }
      auto v = e.value.Evaluate(d_.slots, budget_);
      if (!v.ok()) {
        Ignore(knob, e, check, v.error().message);
        continue;
      }
      if (!InRange(knob.type, *v)) {
        Ignore(knob, e, check, FormatValue(knob.type, *v) + " is outside " + knob.type.ToString());
        continue;
      }
      d_.slots[knob.slot] = std::move(v).value();
      check.outcome = EnvCheck::kApplied;
      applied = static_cast<int>(i);
      if (e.presence_only() && LooksLikeOff(Text(e.var_slot))) {
        d_.warnings.push_back(e.var + "=\"" + Text(e.var_slot) + "\" counts as set: " + e.var +
                              " acts on presence alone, so " + knob.name + " = " +
                              d_.ValueText(knob) + "; unset it to turn it off");
      }
    }
    WarnAboutUnusedSettings(knob, trace, applied);
    if (applied < 0) return false;
    trace.decided_by = KnobTrace::kEnv;
    trace.index = applied;
    return true;
  }

  void Ignore(const Knob& knob, const EnvOverride& e, EnvCheck& check, std::string why) {
    check.outcome = EnvCheck::kIgnored;
    check.detail = why;
    d_.warnings.push_back(e.var + "=\"" + Text(e.var_slot) + "\" ignored for " + knob.name + ": " + why);
  }

  // A set variable that decided nothing: shadowed by an earlier one, or
  // matching none of its conditions (FP8_PREFILL=yes). One warning per
  // variable, in the order the knob first reads them; a map by variable
  // keeps it n log n in the overrides.
  void WarnAboutUnusedSettings(const Knob& knob, const KnobTrace& trace, int applied) {
    struct Use {
      size_t first = 0;
      bool any_effect = false, shadowed = false;
    };
    std::map<std::string_view, Use> uses;
    std::vector<std::string_view> order;
    for (size_t j = 0; j < knob.env.size(); ++j) {
      const EnvOverride& e = knob.env[j];
      if (!IsSet(e.var_slot)) continue;
      auto [it, fresh] = uses.emplace(e.var, Use{j});
      if (fresh) order.push_back(e.var);
      const auto outcome = trace.env[j].outcome;
      it->second.any_effect |= outcome == EnvCheck::kApplied || outcome == EnvCheck::kIgnored;
      it->second.shadowed |= outcome == EnvCheck::kShadowed;
    }
    for (std::string_view var : order) {
      const Use& use = uses[var];
      if (use.any_effect) continue;
      if (use.shadowed && applied >= 0) {
        d_.warnings.push_back(std::string(var) + " is set but has no effect on " + knob.name + ": " +
                              knob.env[applied].var + ", checked first, decided it");
      } else if (!use.shadowed) {
        d_.warnings.push_back(std::string(var) + "=\"" + Text(knob.env[use.first].var_slot) +
                              "\" matches none of the values " + knob.name + " reads it for, so it has no effect");
      }
    }
  }

  bool IsSet(int slot) const { return slot >= 0 && set_[slot]; }
  const std::string& Text(int slot) const { return d_.slots[slot].text; }

  // Whether the records prove every contract `rule` asks for; the trace
  // keeps what they said.
  bool Proven(const Knob& knob, const Rule& rule, KnobTrace& trace, size_t index) {
    trace.evidence.resize(knob.rules.size());
    const std::string value = FormatValue(knob.type, *rule.value.constant());
    if (!evidence_) {
      trace.evidence[index] = "no records were given, so nothing proves " + value + ": not fired";
      return false;
    }
    std::string said;
    for (const std::string& contract : rule.evidence) {
      if (budget_) budget_->Spend(evidence_->ProveUnits());
      const EvidenceOracle::Answer a = evidence_->Prove(contract, knob.name, value, d_.device, d_.model);
      said += (said.empty() ? "" : "; ") + a.citation;
      if (!a.proven) {
        trace.evidence[index] = said + ": not fired";
        return false;
      }
    }
    trace.evidence[index] = said;
    return true;
  }

  Decision& d_;
  const EvidenceOracle* evidence_;
  EvaluationBudget* budget_;
  std::vector<bool> set_;  // by slot: a declared variable that is set
};

}  // namespace

Expected<Decision> Evaluate(const Policy& policy, const DeviceFacts& device, const Environment& env,
                            std::span<const Pin> pins) {
  return Evaluate(policy, device, ModelFacts{}, env, pins);
}

Expected<Decision> Evaluate(const Policy& policy, const DeviceFacts& device, const ModelFacts& model,
                            const Environment& env, std::span<const Pin> pins, const EvidenceOracle* evidence,
                            EvaluationBudget* budget) {
  Decision d;
  d.policy = &policy;
  d.device = device;
  d.model = model;
  d.slots.resize(policy.slots.size());
  FillFactSlots(device, model, d.slots);
  d.env_set.resize(policy.env_slots.size());
  auto set = [&](size_t i, const std::string& value) {
    d.env_set[i] = true;
    d.slots[policy.env_slots[i]] = Value::String(value);
  };
  // Whichever list is shorter is walked: an environment of one variable
  // (check, lint) costs one lookup, however many the policy declares.
  if (env.size() < policy.env_slots.size()) {
    for (const auto& [name, value] : env.variables()) {
      if (auto it = policy.env_index.find(name); it != policy.env_index.end()) set(it->second, value);
    }
  } else {
    for (size_t i = 0; i < policy.env_slots.size(); ++i) {
      if (const std::string* v = env.Find(policy.slots[policy.env_slots[i]].name)) set(i, *v);
    }
  }
  d.knobs.resize(policy.knobs.size());
  KnobEvaluator knobs(policy, d, evidence, budget);
  for (const EvaluationStep& step : policy.order) {
    if (step.kind == EvaluationStep::kFact) {
      const DerivedFact& f = policy.facts[step.index];
      auto v = f.expr.Evaluate(d.slots, budget);
      if (!v.ok()) return Fail(InContext(std::move(v).error(), f.location, "fact '" + f.name + "'"));
      d.slots[f.slot] = std::move(v).value();
      continue;
    }
    const Knob& knob = policy.knobs[step.index];
    auto pin = std::find_if(pins.begin(), pins.end(), [&](const Pin& p) { return p.knob == knob.name; });
    if (pin != pins.end()) {
      KnobTrace& t = d.knobs[step.index];
      t.knob = &knob;
      t.env.assign(knob.env.size(), EnvCheck{});
      t.decided_by = KnobTrace::kPinned;
      t.pin_reason = pin->reason;
      d.slots[knob.slot] = pin->value;
      continue;
    }
    if (auto error = knobs.Decide(knob, d.knobs[step.index])) return Fail(std::move(*error));
    // An override that failed is ignored with a warning; one that failed
    // because the budget is spent stops the evaluation here.
    if (budget && budget->spent()) {
      return Fail(ErrorCode::kInvalidInput, knob.location, "knob '" + knob.name + "': stopped: " + budget->Message());
    }
  }
  return d;
}

std::vector<std::string> FindMisspeltVariables(const Policy& policy, const Environment& env) {
  // The declared names by length: a misspelling is within 2 edits, so only
  // names of a length within 2 of a variable's can match it.
  std::set<std::string> declared;
  std::map<size_t, std::vector<std::string>> by_length;
  for (const std::string& name : policy.EnvironmentVariables()) {
    if (declared.insert(name).second) by_length[name.size()].push_back(name);
  }
  std::vector<std::string> warnings;
  for (const auto& [name, value] : env.variables()) {
    if (declared.count(name)) continue;
    std::vector<std::string> candidates;
    for (auto it = by_length.lower_bound(name.size() < 2 ? 0 : name.size() - 2);
         it != by_length.end() && it->first <= name.size() + 2; ++it) {
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    }
    if (candidates.empty()) continue;
    if (auto match = ClosestMatch(name, candidates)) {
      warnings.push_back(name + " is set but the policy does not read it; did you mean " + *match + "?");
    }
  }
  return warnings;
}

}  // namespace kpolicy
