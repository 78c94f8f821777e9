#include "kpolicy/policy_lint.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "kpolicy/contract_check.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"

namespace kpolicy {

const char* LintKindName(LintFinding::Kind kind) {
  switch (kind) {
    case LintFinding::kDeadRule: return "dead-rule";
    case LintFinding::kShadowedRule: return "shadowed-rule";
    case LintFinding::kUnreachableOverride: return "unreachable-override";
    case LintFinding::kUnusedFact: return "unused-fact";
    case LintFinding::kUncoveredValue: return "uncovered-value";
    case LintFinding::kFallbackBreaksContract: return "fallback-breaks-contract";
    case LintFinding::kNotEnumerated: return "not-enumerated";
  }
  return "lint";
}

namespace {

// The compute capabilities enumerated: every MAJOR.MINOR CUDA can number,
// from 1.0 (Tesla) to 15.9, ahead of any GPU announced.
constexpr int kMaxCcMajor = 15;
constexpr int kMaxCcMinor = 9;

// Base values of facts a grid point has no reason to vary: the seed's SM
// fallback, "unknown" for the rest.
constexpr int kBaseNumSms = kFallbackNumSms;

std::string LineOf(const SourceLocation& where) { return "line " + std::to_string(where.line); }

bool IsCcSlot(int slot) { return slot == kSlotCc || slot == kSlotCcMajor || slot == kSlotCcMinor; }
bool IsCatalogSlot(int slot) {
  return IsCcSlot(slot) || slot == kSlotNumSms || slot == kSlotName || slot == kSlotMemoryMib ||
         slot == kSlotBandwidthGbps;
}

// A device (and model) the policy is evaluated for, and how to name it.
struct DevicePoint {
  DeviceFacts device;
  ModelFacts model;
  bool from_catalog = false;
  std::string label;  // "cc 8.9", "catalog l4", "record contracts/parity/gb10.yaml"
};

// The slots a set of expressions reads, closed over the facts and knobs
// they read (a knob read brings every expression of that knob, its
// overrides' variables and constraints included).
class Reads {
 public:
  explicit Reads(const Policy& p) : p_(p), read_(p.slots.size(), false) {
    for (size_t i = 0; i < p.facts.size(); ++i) fact_of_slot_[p.facts[i].slot] = static_cast<int>(i);
    for (size_t i = 0; i < p.knobs.size(); ++i) knob_of_slot_[p.knobs[i].slot] = static_cast<int>(i);
  }

  void Add(const Expression& e) {
    for (int slot : e.reads()) AddSlot(slot);
  }
  void AddSlot(int slot) {
    if (slot < 0 || read_[slot]) return;
    read_[slot] = true;
    if (auto f = fact_of_slot_.find(slot); f != fact_of_slot_.end()) Add(p_.facts[f->second].expr);
    if (auto k = knob_of_slot_.find(slot); k != knob_of_slot_.end()) AddWholeKnob(p_.knobs[k->second]);
  }
  void AddOverrides(const Knob& k) {
    for (const EnvOverride& e : k.env) {
      AddSlot(e.var_slot);
      if (e.has_condition) Add(e.when);
      Add(e.value);
    }
  }
  void AddWholeKnob(const Knob& k) {
    AddOverrides(k);
    for (const Rule& r : k.rules) {
      Add(r.when);
      Add(r.value);
    }
    Add(k.default_value);
    for (const Constraint& c : k.constraints) Add(c.condition);
  }

  bool operator[](int slot) const { return read_[slot]; }
  bool any_device() const {
    for (int s = 0; s < kDeviceSlotCount; ++s) {
      if (read_[s]) return true;
    }
    return false;
  }
  bool any_catalog() const {
    for (int s = 0; s < kDeviceSlotCount; ++s) {
      if (read_[s] && IsCatalogSlot(s)) return true;
    }
    return false;
  }

 private:
  const Policy& p_;
  std::vector<bool> read_;
  std::map<int, int> fact_of_slot_, knob_of_slot_;
};

// Version text one step below or above `v` in its last component, or "".
std::string VersionStep(const std::string& v, int step) {
  const size_t dot = v.rfind('.');
  const std::string head = dot == std::string::npos ? "" : v.substr(0, dot + 1);
  const std::string last = dot == std::string::npos ? v : v.substr(dot + 1);
  if (last.empty() || last.size() > 9) return "";
  const long n = std::stol(last) + step;
  return n < 0 ? "" : head + std::to_string(n);
}

void AddUnique(std::vector<Value>& values, Value v) {
  if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(std::move(v));
}

// The values enumerated for each slot (see policy_lint.h).
class Candidates {
 public:
  explicit Candidates(const Policy& p) : p_(p), literals_(p.slots.size()) {
    auto collect = [&](const Expression& e) {
      for (const Expression::Comparison& c : e.ComparedLiterals()) literals_[c.slot].push_back(c);
    };
    for (const DerivedFact& f : p.facts) collect(f.expr);
    for (const Knob& k : p.knobs) {
      for (const EnvOverride& e : k.env) {
        collect(e.when);
        collect(e.value);
      }
      for (const Rule& r : k.rules) {
        collect(r.when);
        collect(r.value);
      }
      collect(k.default_value);
      for (const Constraint& c : k.constraints) collect(c.condition);
    }
  }

  // A device fact's values (not the compute capability, which is a grid).
  std::vector<Value> DeviceValues(int slot) const {
    std::vector<Value> out;
    const TypeKind kind = p_.slots[slot].type.kind;
    if (kind == TypeKind::kInt) {
      out.push_back(Value::Int(slot == kSlotNumSms ? kBaseNumSms : 0));
      for (const Expression::Comparison& c : literals_[slot]) {
        for (int64_t d : {-1, 0, 1}) {
          if (c.literal.number + d >= 0) AddUnique(out, Value::Int(c.literal.number + d));
        }
      }
    } else if (kind == TypeKind::kVersion) {
      out.push_back(Value::String(""));
      for (const Expression::Comparison& c : literals_[slot]) {
        for (int step : {0, -1, 1}) {
          const std::string v = step == 0 ? c.literal.text : VersionStep(c.literal.text, step);
          if (!v.empty()) AddUnique(out, Value::String(v));
        }
      }
    } else {
      out.push_back(Value::String(""));
      for (const Expression::Comparison& c : literals_[slot]) AddUnique(out, Value::String(c.literal.text));
      AddUnique(out, Value::String(OtherText(out)));
    }
    return out;
  }

  // An environment variable's states: nullopt is unset.
  std::vector<std::optional<std::string>> EnvValues(int slot) const {
    std::vector<Value> texts;
    for (const Expression::Comparison& c : literals_[slot]) {
      if (c.through_int) {
        for (int64_t d : {-1, 0, 1}) AddUnique(texts, Value::String(std::to_string(c.literal.number + d)));
      } else {
        AddUnique(texts, Value::String(c.literal.text));
      }
    }
    AddUnique(texts, Value::String(OtherText(texts)));
    std::vector<std::optional<std::string>> out = {std::nullopt};
    for (const Value& v : texts) out.push_back(v.text);
    return out;
  }

 private:
  // A value equal to none of `taken`: "1", else the next free integer, which
  // int() still reads.
  static std::string OtherText(const std::vector<Value>& taken) {
    for (int n = 1;; ++n) {
      const std::string s = std::to_string(n);
      if (std::none_of(taken.begin(), taken.end(), [&](const Value& v) { return v.text == s; })) return s;
    }
  }

  const Policy& p_;
  std::vector<std::vector<Expression::Comparison>> literals_;
};

void SetDeviceSlot(int slot, const Value& v, DeviceFacts& d, ModelFacts& m) {
  switch (slot) {
    case kSlotNumSms: d.num_sms = static_cast<int>(v.number); break;
    case kSlotName: d.name = v.text; break;
    case kSlotMemoryMib: d.memory_mib = v.number; break;
    case kSlotBandwidthGbps: d.bandwidth_gbps = v.number; break;
    case kSlotMemoryFreeMib: d.memory_free_mib = v.number; break;
    case kSlotDriver: d.driver_version = v.text; break;
    case kSlotCudaRuntime: d.runtime_version = v.text; break;
    case kSlotModelArchitecture: m.architecture = v.text; break;
    case kSlotModelName: m.name = v.text; break;
    case kSlotModelQuantisation: m.quantisation = v.text; break;
    case kSlotModelSize: m.size = v.text; break;
    default: break;
  }
}

// The points of one analysis: devices x environments. A space larger than
// the analysis limit is counted, not built: its lists stay incomplete (a
// policy reading 900 variables has 2^900 environments). The environments
// are never held together: each is made from the variables' states when
// it is visited (ForEachEnvironment), so an analysis at the limit holds
// its devices and one environment, not 100,000 environments.
struct Space {
  using States = std::vector<std::optional<std::string>>;  // nullopt: unset
  std::vector<DevicePoint> devices;
  std::vector<std::pair<std::string, States>> variables;  // each read, with its states
  std::string description;  // for messages
  size_t points = 1;        // devices x environments, saturating past the limit
  bool built = true;        // false: over the limit, the lists are incomplete
  size_t size() const { return points; }

  // Counts `factor` times as many points; false (and no longer built) once
  // that is past `max_points`.
  bool Grow(size_t factor, size_t max_points) {
    if (factor != 0 && points > max_points / factor) {
      points = max_points + 1;
      built = false;
    } else {
      points *= factor;
    }
    return built;
  }
};

// Multiplies `points` by each value of `slot`.
void Multiply(std::vector<DevicePoint>& points, int slot, const std::vector<Value>& values) {
  std::vector<DevicePoint> out;
  out.reserve(points.size() * values.size());
  for (const DevicePoint& p : points) {
    for (const Value& v : values) {
      DevicePoint q = p;
      SetDeviceSlot(slot, v, q.device, q.model);
      out.push_back(std::move(q));
    }
  }
  points = std::move(out);
}

struct SpaceRequest {
  bool catalog = false;  // catalog devices whatever is read (evidence, values)
  bool grid = true;      // the compute-capability grid and fact values
  bool records = false;  // recorded devices whatever is read
};

Space BuildSpace(const Policy& p, const Candidates& candidates, const Reads& reads, const SpaceRequest& want,
                 const std::vector<ParityRecord>* records, size_t max_points) {
  Space s;
  s.points = 0;
  std::vector<std::string> parts;
  // Facts the catalog does not give vary on every kind of point.
  std::vector<int> free_slots, grid_slots;
  for (int slot = kSlotNumSms; slot < kDeviceSlotCount; ++slot) {
    if (!reads[slot]) continue;
    (IsCatalogSlot(slot) ? grid_slots : free_slots).push_back(slot);
  }
  if (want.grid) {
    std::vector<DevicePoint> grid;
    const bool cc = reads[kSlotCc] || reads[kSlotCcMajor] || reads[kSlotCcMinor];
    for (int major = cc ? 1 : kFallbackCcMajor; major <= (cc ? kMaxCcMajor : kFallbackCcMajor); ++major) {
      for (int minor = cc ? 0 : kFallbackCcMinor; minor <= (cc ? kMaxCcMinor : kFallbackCcMinor); ++minor) {
        DevicePoint point;
        point.device.cc_major = major;
        point.device.cc_minor = minor;
        point.device.num_sms = kBaseNumSms;
        point.device.source = "lint grid";
        point.label = "cc " + std::to_string(major) + "." + std::to_string(minor);
        grid.push_back(std::move(point));
      }
    }
    parts.push_back(cc ? "cc 1.0-15.9" : "cc 7.0 (nothing reads it)");
    Space grid_space;
    grid_space.points = grid.size();
    for (int slot : grid_slots) {
      const auto values = candidates.DeviceValues(slot);
      if (grid_space.Grow(values.size(), max_points)) Multiply(grid, slot, values);
      parts.push_back(p.slots[slot].name + " (" + std::to_string(values.size()) + " values)");
    }
    s.points = grid_space.points;
    s.built = grid_space.built;
    s.devices = std::move(grid);
  }
  if (want.catalog || reads.any_catalog()) {
    for (const CatalogEntry& e : DeviceCatalog()) {
      DevicePoint point;
      point.device = e.ToFacts();
      point.from_catalog = true;
      point.label = "catalog " + std::string(e.key);
      s.devices.push_back(std::move(point));
      if (s.built) ++s.points;
    }
    parts.push_back(std::to_string(DeviceCatalog().size()) + " catalog devices");
  }
  if (records && !records->empty() && (want.records || reads.any_device())) {
    for (const ParityRecord& r : *records) {
      DevicePoint point;
      point.device = r.device;
      point.model = r.model;
      point.label = "the device of " + r.file;
      s.devices.push_back(std::move(point));
      if (s.built) ++s.points;
    }
    parts.push_back(std::to_string(records->size()) + " recorded device" + (records->size() == 1 ? "" : "s"));
  }
  // The facts no catalog or record gives vary everywhere.
  for (int slot : free_slots) {
    const auto values = candidates.DeviceValues(slot);
    if (s.Grow(values.size(), max_points)) Multiply(s.devices, slot, values);
    parts.push_back(p.slots[slot].name + " (" + std::to_string(values.size()) + " values)");
  }
  for (int slot : p.env_slots) {
    if (!reads[slot]) continue;
    Space::States states = candidates.EnvValues(slot);
    parts.push_back(p.slots[slot].name + " (" + std::to_string(states.size()) + " states)");
    if (s.Grow(states.size(), max_points)) s.variables.emplace_back(p.slots[slot].name, std::move(states));
  }
  // A policy reading hundreds of variables would otherwise name each one.
  constexpr size_t kPartsNamed = 8;
  for (size_t i = 0; i < parts.size() && i < kPartsNamed; ++i) s.description += (i ? ", " : "") + parts[i];
  if (parts.size() > kPartsNamed) s.description += " and " + std::to_string(parts.size() - kPartsNamed) + " more";
  return s;
}

// Calls `visit` with every combination of the variables' states, the last
// variable varying fastest, until it returns false; false if it did.
bool ForEachEnvironment(const std::vector<std::pair<std::string, Space::States>>& variables,
                        const std::function<bool(const Environment&)>& visit) {
  std::vector<size_t> state(variables.size(), 0);
  while (true) {
    Environment env;
    for (size_t i = 0; i < variables.size(); ++i) {
      if (const auto& value = variables[i].second[state[i]]) env.Set(variables[i].first, *value);
    }
    if (!visit(env)) return false;
    size_t i = variables.size();
    for (; i > 0; --i) {  // the next combination, as an odometer turns
      if (++state[i - 1] < variables[i - 1].second.size()) break;
      state[i - 1] = 0;
    }
    if (i == 0) return true;
  }
}

std::string Describe(const Environment& env) {
  std::string out;
  for (const auto& [k, v] : env.variables()) out += (out.empty() ? "" : " ") + k + "=\"" + v + "\"";
  return out.empty() ? "no variable set" : out;
}

std::string Quoted(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  }
  return out;
}

class Linter {
 public:
  Linter(const Policy& p, const LintOptions& o)
      : p_(p), o_(o), candidates_(p), with_records_(o.contracts && o.records), budget_(o.max_evaluation_units) {
    if (with_records_) oracle_.emplace(*o.contracts, *o.records);
    expressions_ = p.facts.size();
    for (const Knob& k : p.knobs) expressions_ += 2 * k.env.size() + 2 * k.rules.size() + 1 + k.constraints.size();
  }

  LintReport Run() {
    UnusedFacts();
    for (size_t k = 0; k < p_.knobs.size(); ++k) {
      Rules(static_cast<int>(k));
      Overrides(static_cast<int>(k));
      if (with_records_) Values(static_cast<int>(k));
    }
    std::stable_sort(report_.findings.begin(), report_.findings.end(),
                     [&](const LintFinding& a, const LintFinding& b) {
                       const bool a_here = a.location.file == p_.file, b_here = b.location.file == p_.file;
                       if (a_here != b_here) return a_here;
                       if (a.location.file != b.location.file) return a.location.file < b.location.file;
                       if (a.location.line != b.location.line) return a.location.line < b.location.line;
                       return a.location.column < b.location.column;
                     });
    return std::move(report_);
  }

 private:
  void Report(LintFinding::Kind kind, SourceLocation where, std::string message) {
    report_.findings.push_back({kind, std::move(where), std::move(message)});
  }

  // Evaluates every point of `s`, unless there are too many or they cost
  // too much (a policy evaluation and `per_point` more expressions each):
  // then reports it at `knob` and returns false. `visit` sees each decision.
  // Once the policy's evaluation budget is spent, this analysis and every
  // later one stop (one finding says so) and return false: a finding of an
  // analysis cut short could claim "never" of a point not visited.
  bool Enumerate(const Space& s, const Knob& knob, const std::string& what, size_t per_point,
                 const std::function<void(const DevicePoint&, const Environment&, const Decision&)>& visit) {
    if (budget_.spent()) return false;
    const size_t cost = expressions_ + per_point;
    if (s.built && s.size() <= o_.max_points && s.size() > o_.max_expression_evaluations / cost) {
      Report(LintFinding::kNotEnumerated, knob.location,
             what + " of knob '" + knob.name + "' not analysed: " + std::to_string(s.size()) + " points (" +
                 s.description + ") of " + std::to_string(cost) + " expressions each exceed the limit of " +
                 std::to_string(o_.max_expression_evaluations) + " expression evaluations");
      return false;
    }
    if (!s.built || s.size() > o_.max_points) {
      Report(LintFinding::kNotEnumerated, knob.location,
             what + " of knob '" + knob.name + "' not analysed: " + (s.built ? "" : "more than ") +
                 std::to_string(s.built ? s.size() : o_.max_points) + " points (" + s.description +
                 ") exceed the limit of " + std::to_string(o_.max_points));
      return false;
    }
    failures_ = 0;
    first_failure_.clear();
    report_.largest_analysis = std::max(report_.largest_analysis, s.size());
    for (const DevicePoint& d : s.devices) {
      const bool whole = ForEachEnvironment(s.variables, [&](const Environment& env) {
        ++report_.evaluations;
        auto decision = Evaluate(p_, d.device, d.model, env, {}, oracle_ ? &*oracle_ : nullptr, &budget_);
        if (decision.ok()) visit(d, env, *decision);
        if (budget_.spent()) return false;
        if (!decision.ok() && failures_++ == 0) {
          first_failure_ = d.label + ", " + Describe(env) + ": " + decision.error().ToString();
        }
        return true;
      });
      if (!whole) {
        Report(LintFinding::kNotEnumerated, knob.location,
               what + " of knob '" + knob.name + "' and the analyses after it not finished: " + budget_.Message() +
                   " for this policy");
        return false;
      }
    }
    return true;
  }

  // Appended to a "never" finding when some points could not be evaluated:
  // they count for nothing, so the finding may be one of them.
  std::string FailureNote(size_t points) const {
    if (failures_ == 0) return "";
    return " (" + std::to_string(failures_) + " of " + std::to_string(points) +
           " points failed to evaluate and count for nothing; first: " + first_failure_ + ")";
  }

  // ---- rules ------------------------------------------------------------------

  void Rules(int ki) {
    const Knob& k = p_.knobs[ki];
    if (k.rules.empty()) return;
    Reads reads(p_);
    bool evidence = false;
    for (const Rule& r : k.rules) {
      reads.Add(r.when);
      evidence |= !r.evidence.empty();
    }
    const Space s = BuildSpace(p_, candidates_, reads, {evidence, true, evidence}, o_.records, o_.max_points);
    const size_t n = k.rules.size();
    std::vector<bool> fired(n), held(n);
    std::vector<std::string> unproven(n);  // where it held, was reached, and no record proved it
    std::vector<std::set<std::string>> shadowers(n);
    const bool ok = Enumerate(s, k, "rules", n, [&](const DevicePoint& d, const Environment& env, const Decision& dec) {
      const KnobTrace& t = dec.knobs[ki];
      if (t.decided_by == KnobTrace::kRule) fired[t.index] = true;
      for (size_t j = 0; j < n; ++j) {
        auto holds = k.rules[j].when.Evaluate(dec.slots, &budget_);
        if (!holds.ok() || !holds->number) continue;
        held[j] = true;
        if (t.decided_by == KnobTrace::kRule && t.index == static_cast<int>(j)) continue;
        if (t.decided_by == KnobTrace::kEnv) {
          shadowers[j].insert("override " + k.env[t.index].var + " (" + LineOf(k.env[t.index].location) + ")");
        } else if (t.decided_by == KnobTrace::kRule && t.index < static_cast<int>(j)) {
          shadowers[j].insert("rule '" + k.rules[t.index].id + "' (" + LineOf(k.rules[t.index].location) + ")");
        } else if (unproven[j].empty()) {
          unproven[j] = d.label + (env.variables().empty() ? "" : " with " + Describe(env));
        }
      }
    });
    if (!ok) return;
    for (size_t j = 0; j < n; ++j) {
      const Rule& r = k.rules[j];
      const std::string head = "rule '" + r.id + "' of knob '" + k.name + "' ";
      if (fired[j]) continue;
      if (!held[j]) {
        Report(LintFinding::kDeadRule, r.location,
               head + "can never fire: its condition '" + r.when.text() + "' holds nowhere in " + s.description +
                   FailureNote(s.size()));
      } else if (!unproven[j].empty()) {
        // Without records an evidence rule never fires by design; with
        // them, never proven is as dead as never true.
        if (!with_records_) continue;
        Report(LintFinding::kDeadRule, r.location,
               head + "never fires with the records given: its condition holds (e.g. " + unproven[j] +
                   "), but on no device of " + s.description + " do the records prove " + Quoted(r.evidence) +
                   " for " + k.name + " = " + FormatValue(k.type, *r.value.constant()) + FailureNote(s.size()));
      } else {
        Report(LintFinding::kShadowedRule, r.location,
               head + "is shadowed: wherever its condition holds (" + s.description + "), " +
                   Quoted({shadowers[j].begin(), shadowers[j].end()}) + " decide" +
                   (shadowers[j].size() == 1 ? "s" : "") + " first" + FailureNote(s.size()));
      }
    }
  }

  // ---- environment overrides ----------------------------------------------------

  void Overrides(int ki) {
    const Knob& k = p_.knobs[ki];
    if (k.env.empty()) return;
    Reads reads(p_);
    reads.AddOverrides(k);
    const Space s = BuildSpace(p_, candidates_, reads, {false, true, false}, o_.records, o_.max_points);
    const size_t n = k.env.size();
    std::vector<bool> taken(n), ignored(n);
    std::vector<std::string> ignored_why(n);
    std::vector<std::set<int>> shadowed_by(n);
    const bool ok = Enumerate(s, k, "overrides", n, [&](const DevicePoint&, const Environment& env, const Decision& dec) {
      const KnobTrace& t = dec.knobs[ki];
      for (size_t i = 0; i < n; ++i) {
        switch (t.env[i].outcome) {
          case EnvCheck::kNotSet: break;
          case EnvCheck::kApplied: taken[i] = true; break;
          case EnvCheck::kConditionFalse: break;
          case EnvCheck::kIgnored:
            ignored[i] = true;
            if (ignored_why[i].empty()) ignored_why[i] = k.env[i].var + "=\"" + *env.Find(k.env[i].var) + "\": " + t.env[i].detail;
            break;
          case EnvCheck::kShadowed: {
            // Shadowed only where it would have applied: its condition holds.
            bool would = !k.env[i].has_condition;
            if (!would) {
              auto holds = k.env[i].when.Evaluate(dec.slots, &budget_);
              would = holds.ok() && holds->number;
            }
            if (would && t.decided_by == KnobTrace::kEnv) shadowed_by[i].insert(t.index);
            break;
          }
        }
      }
    });
    if (!ok) return;
    for (size_t i = 0; i < n; ++i) {
      if (taken[i]) continue;
      const EnvOverride& e = k.env[i];
      const std::string head = "override of " + e.var + " for knob '" + k.name + "' can never be taken: ";
      std::string why;
      if (!shadowed_by[i].empty()) {
        std::vector<std::string> first;
        for (int j : shadowed_by[i]) first.push_back(k.env[j].var + " (" + LineOf(k.env[j].location) + ")");
        why = (e.has_condition ? "wherever its condition '" + e.when.text() + "' holds" : "whenever " + e.var + " is set") +
              ", the override" + (first.size() == 1 ? " of " : "s of ") + Quoted(first) +
              (first.size() == 1 ? " applies" : " apply") + " first";
      } else if (ignored[i]) {
        why = "where its condition holds its value is unusable (e.g. " + ignored_why[i] + ")";
      } else {
        why = "its condition '" + e.when.text() + "' holds for none of the states of " + s.description;
      }
      Report(LintFinding::kUnreachableOverride, e.location, head + why + FailureNote(s.size()));
    }
  }

  // ---- values against the records ---------------------------------------------

  // What the records say of knob `ki` at the value `decision` holds, on its
  // device: per contract, whether some record breaks it and the claim.
  struct Said {
    bool measured = false;                          // some record has figures for it
    std::map<std::string, std::string> breaks;      // contract -> claim
  };
  const Said& SaidOf(const Decision& decision, const Knob& k) {
    const std::string key = k.name + "=" + decision.ValueText(k) + " on " + decision.device.name + " " +
                            std::to_string(decision.device.cc()) + "/" + std::to_string(decision.device.num_sms) +
                            " " + decision.model.Describe();
    auto it = said_.find(key);
    if (it != said_.end()) return it->second;
    Said said;
    const auto found = FindEvidence(decision, *o_.contracts, *o_.records);
    if (auto items = found.find(k.name); items != found.end()) {
      for (const kpolicy::Evidence& e : items->second) {
        if (e.status == kpolicy::Evidence::kUnproven) continue;
        said.measured = true;
        if (e.status == kpolicy::Evidence::kBreaks && !said.breaks.count(e.contract)) {
          said.breaks[e.contract] = e.claim + " [" + e.source + "]";
        }
      }
    }
    return said_.emplace(key, std::move(said)).first->second;
  }

  // Where a decided value comes from in the file.
  static SourceLocation SourceOf(const Knob& k, const KnobTrace& t) {
    if (t.refused_by >= 0) return k.fallback_location;
    switch (t.decided_by) {
      case KnobTrace::kEnv: return k.env[t.index].location;
      case KnobTrace::kRule: return k.rules[t.index].location;
      default: return k.default_value.place().known() ? k.default_value.place() : k.location;
    }
  }
  static std::string SourceName(const Knob& k, const KnobTrace& t) {
    if (t.refused_by >= 0) return "the fallback after a refusal";
    switch (t.decided_by) {
      case KnobTrace::kEnv: return "override " + k.env[t.index].var;
      case KnobTrace::kRule: return "rule '" + k.rules[t.index].id + "'";
      default: return "the default";
    }
  }
  static bool Earlier(const SourceLocation& a, const SourceLocation& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  }

  void Values(int ki) {
    const Knob& k = p_.knobs[ki];
    std::vector<const Contract*> contracts;
    for (const Contract& c : *o_.contracts) {
      if (c.Constrains(k.name)) contracts.push_back(&c);
    }
    if (contracts.empty()) return;
    auto applies = [&](const std::string& value) {
      return std::any_of(contracts.begin(), contracts.end(), [&](const Contract* c) {
        const std::string variant = c->VariantOf(k.name, value);
        return !variant.empty() && (c->variants.empty() || std::find(c->variants.begin(), c->variants.end(),
                                                                     variant) != c->variants.end());
      });
    };
    Reads reads(p_);
    reads.AddWholeKnob(k);
    const Space s = BuildSpace(p_, candidates_, reads, {true, false, true}, o_.records, o_.max_points);
    struct Seen {
      SourceLocation where;
      std::string source;
      std::set<std::string> devices;
      bool covered = false;
    };
    std::map<std::string, Seen> values;
    std::vector<std::string> order;
    std::set<std::string> fallback_reported;
    const std::string fallback = k.fallback ? FormatValue(k.type, *k.fallback) : "";
    const bool ok = Enumerate(s, k, "values", 0, [&](const DevicePoint& d, const Environment& env, const Decision& dec) {
      const KnobTrace& t = dec.knobs[ki];
      const std::string value = dec.ValueText(k);
      if (d.from_catalog && applies(value)) {
        auto [it, fresh] = values.try_emplace(value);
        Seen& seen = it->second;
        if (fresh) order.push_back(value);
        const SourceLocation where = SourceOf(k, t);
        if (fresh || Earlier(where, seen.where)) {
          seen.where = where;
          seen.source = SourceName(k, t);
        }
        seen.devices.insert(d.label.substr(d.label.find(' ') + 1));
        if (!seen.covered) seen.covered = SaidOf(dec, k).measured;
      }
      if (!k.fallback) return;
      const Said& chosen = SaidOf(dec, k);
      if (chosen.breaks.empty()) return;
      Decision pinned = dec;  // what the runtime runs after the gate falls back
      pinned.slots[k.slot] = *k.fallback;
      const Said& replacement = SaidOf(pinned, k);
      for (const auto& [contract, claim] : chosen.breaks) {
        auto also = replacement.breaks.find(contract);
        if (also == replacement.breaks.end() || !fallback_reported.insert(contract).second) continue;
        Report(LintFinding::kFallbackBreaksContract, k.fallback_location,
               "fallback " + fallback + " of knob '" + k.name + "' breaks " + contract + " where " + value +
                   (value == fallback ? " (the fallback itself)" : "") + ", the value it replaces, does: on " +
                   d.label + (env.variables().empty() ? "" : " with " + Describe(env)) + ", " + value + " " +
                   claim + "; " + fallback + " " + also->second);
      }
    });
    if (!ok) return;
    for (const std::string& value : order) {
      const Seen& seen = values[value];
      if (seen.covered) continue;
      const std::vector<std::string> devices(seen.devices.begin(), seen.devices.end());
      std::string ids;
      for (const Contract* c : contracts) ids += (ids.empty() ? "" : ", ") + c->id;
      Report(LintFinding::kUncoveredValue, seen.where,
             "knob '" + k.name + "' = " + value + " (from " + seen.source + ") is chosen on " +
                 std::to_string(devices.size()) + " catalog device" + (devices.size() == 1 ? "" : "s") + " (" +
                 Quoted(devices.size() > 6 ? std::vector<std::string>(devices.begin(), devices.begin() + 6)
                                           : devices) +
                 (devices.size() > 6 ? ", ..." : "") + "), but no record has figures for it there under " + ids);
    }
  }

  // ---- facts --------------------------------------------------------------------

  void UnusedFacts() {
    std::vector<bool> read(p_.slots.size(), false);
    auto mark = [&](const Expression& e) {
      for (int slot : e.reads()) read[slot] = true;
    };
    for (const DerivedFact& f : p_.facts) mark(f.expr);
    for (const Knob& k : p_.knobs) {
      for (const EnvOverride& e : k.env) {
        mark(e.when);
        mark(e.value);
      }
      for (const Rule& r : k.rules) {
        mark(r.when);
        mark(r.value);
      }
      mark(k.default_value);
      for (const Constraint& c : k.constraints) mark(c.condition);
    }
    for (const DerivedFact& f : p_.facts) {
      if (!read[f.slot]) {
        Report(LintFinding::kUnusedFact, f.location,
               "fact '" + f.name + "' is never used: no fact, rule, override, default or constraint reads it");
      }
    }
  }

  const Policy& p_;
  const LintOptions& o_;
  Candidates candidates_;
  bool with_records_;
  EvaluationBudget budget_;  // every analysis of the policy together
  std::optional<RecordEvidence> oracle_;
  size_t expressions_ = 0;  // in the policy: the cost of one evaluation
  std::map<std::string, Said> said_;
  LintReport report_;
  size_t failures_ = 0;
  std::string first_failure_;
};

}  // namespace

LintReport LintPolicy(const Policy& policy, const LintOptions& options) { return Linter(policy, options).Run(); }

}  // namespace kpolicy
