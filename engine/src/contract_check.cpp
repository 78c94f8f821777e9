#include "kpolicy/contract_check.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "kpolicy/evaluator.h"
#include "kpolicy/json.h"
#include "kpolicy/parity_vocabulary.h"
#include "kpolicy/spelling.h"

namespace kpolicy {

namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The measurements of `variant` that `contract` counts.
std::vector<const Measurement*> Relevant(const Contract& contract, const std::string& variant,
                                         const ParityRecord& record) {
  std::vector<const Measurement*> out;
  for (const Measurement& m : record.results) {
    if (m.operation == contract.operation && m.variant == variant && Contains(contract.workloads, m.workload)) {
      out.push_back(&m);
    }
  }
  return out;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Findings of one contract for the variant a decision chose.
void CheckOne(const Contract& contract, const std::string& variant, const ParityRecord& record,
              const CheckFinding& base, std::vector<CheckFinding>& out) {
  if (variant.empty()) return;  // a value of an alias that names no variant
  if (!contract.variants.empty() && !Contains(contract.variants, variant)) return;  // not applicable
  CheckFinding f = base;
  f.variant = variant;
  f.contract = contract.id;
  f.provenance = record.provenance.Describe();
  const std::vector<const Measurement*> measured = Relevant(contract, variant, record);
  if (measured.empty()) {
    f.kind = CheckFinding::kUnproven;
    f.detail = "no record of " + contract.operation + " " + variant + " on " + Joined(contract.workloads);
    out.push_back(f);
    return;
  }
  for (const Threshold& t : contract.thresholds) {
    f.metric = t.metric;
    f.threshold = t.ToString();
    bool any = false;
    for (const Measurement* m : measured) {
      auto it = m->metrics.find(t.metric);
      if (it == m->metrics.end()) continue;
      any = true;
      f.workload = m->workload;
      f.shape = m->shape;
      f.measured = it->second;
      f.kind = t.Holds(it->second) ? CheckFinding::kPass : CheckFinding::kViolation;
      out.push_back(f);
    }
    if (!any) {
      f.kind = CheckFinding::kUnproven;
      f.workload.clear();
      f.detail = t.metric + " is not recorded for " + contract.operation + " " + variant;
      out.push_back(f);
    }
  }
}

// Findings of `contract` for the value decision `d` gives `knob` (the knob
// the contract constrains in d's policy, under whichever spelling).
void CheckDecided(const Contract& contract, const Knob& knob, const Decision& d, const ParityRecord& record,
                  CheckFinding base, std::vector<CheckFinding>& out) {
  const std::string value = d.ValueText(knob);
  const std::string variant = contract.VariantOf(knob.name, value);
  base.knob = knob.name;
  if (variant != value) base.value = value;
  CheckOne(contract, variant, record, base, out);
}

// String literals in an expression's text: the values a condition compares
// the variable with.
std::vector<std::string> StringLiterals(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') continue;
    std::string s;
    size_t j = i + 1;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\' && j + 1 < text.size()) ++j;
      s += text[j];
    }
    out.push_back(s);
    i = j;
  }
  return out;
}

// The values of an override's variable worth trying: "1", and for a
// conditional one the strings its condition compares with, and "0".
std::vector<std::string> CandidateValues(const EnvOverride& e) {
  std::vector<std::string> candidates = {"1"};
  if (e.has_condition) {
    for (const std::string& s : StringLiterals(e.when.text())) candidates.push_back(s);
    candidates.push_back("0");
  }
  return candidates;
}

// An environment that makes override `index` of `knob` apply on `device`,
// if one of the plausible values does.
std::optional<Environment> Triggering(const Policy& policy, const Knob& knob, size_t index,
                                      const DeviceFacts& device, EvaluationBudget& budget) {
  const EnvOverride& e = knob.env[index];
  const std::vector<std::string> candidates = CandidateValues(e);
  const size_t knob_index = &knob - policy.knobs.data();
  for (const std::string& value : candidates) {
    Environment env;
    env.Set(e.var, value);
    auto d = Evaluate(policy, device, ModelFacts{}, env, {}, nullptr, &budget);
    if (budget.spent()) return std::nullopt;
    if (d.ok() && d->knobs[knob_index].decided_by == KnobTrace::kEnv &&
        d->knobs[knob_index].index == static_cast<int>(index)) {
      return env;
    }
    // A stop constraint refusing the override still means it applied.
    if (!d.ok() && d.error().message.rfind("refused: " + knob.name + " = ", 0) == 0) return env;
  }
  return std::nullopt;
}

// The "refused: ..." warnings of a decision, prefixed with where they came from.
void CollectRefusals(const Decision& d, const std::string& where, std::vector<std::string>& out) {
  for (const std::string& w : d.warnings) {
    if (w.rfind("refused: ", 0) == 0) out.push_back(where + w);
  }
}

// `FILE:LINE:COL: error: MESSAGE`, as every line of CheckReport::errors.
std::string ErrorAt(const SourceLocation& where, std::string message) {
  return Diagnostic{Severity::kError, where, std::move(message)}.ToString();
}

// The names in `contracts` and `records` that must be values of the
// policy's knobs: a contract's `variants:` and each recorded row's variant
// (of an operation whose knob the policy has). A misspelt one would be
// evidence that never counts, or a contract that never applies, so each
// is an error at its place.
void CheckVariantNames(const Policy& policy, const std::string& policy_name, const std::vector<Contract>& contracts,
                       const std::vector<ParityRecord>& records, std::vector<std::string>& errors) {
  auto not_a_value = [&](const Knob& knob, const std::string& text) {
    return "'" + text + "' is not a value of knob '" + knob.name + "' (" + knob.type.ToString() + ") in policy " +
           policy_name + (knob.type.kind == TypeKind::kEnum ? DidYouMean(text, knob.type.members) : "");
  };
  for (const Contract& c : contracts) {
    // An alias maps its knob's values onto the contract knob's.
    for (const Contract::Alias& a : c.aliases) {
      const Knob* alias = policy.FindKnob(a.knob);
      const Knob* target = policy.FindKnob(c.knob);
      for (const auto& [value, variant] : a.variant_of) {
        if (alias && !CanonicalValueText(alias->type, value)) {
          errors.push_back(ErrorAt(a.location, "contract " + c.id + ": alias value " + not_a_value(*alias, value)));
        }
        if (target && !CanonicalValueText(target->type, variant)) {
          errors.push_back(ErrorAt(a.location, "contract " + c.id + ": the variant " + a.knob + " = " + value +
                                               " maps to, " + not_a_value(*target, variant)));
        }
      }
    }
    const Knob* knob = policy.FindKnob(c.knob);
    if (!knob) continue;  // an alias's policy, or reported by the caller
    for (const std::string& v : c.variants) {
      if (!CanonicalValueText(knob->type, v)) {
        errors.push_back(ErrorAt(c.variants_location, "contract " + c.id + " lists variant " + not_a_value(*knob, v)));
      }
    }
  }
  for (const ParityRecord& record : records) {
    for (const Measurement& m : record.results) {
      const MeasuredOperation* op = FindMeasuredOperation(m.operation);
      const Knob* knob = op ? policy.FindKnob(op->knob) : nullptr;
      if (knob && !CanonicalValueText(knob->type, m.variant)) {
        errors.push_back(ErrorAt(m.variant_location, "recorded " + m.operation + " variant " + not_a_value(*knob, m.variant)));
      }
    }
  }
}

}  // namespace

EvidenceOracle::Answer RecordEvidence::Prove(const std::string& contract, const std::string& knob,
                                             const std::string& value, const DeviceFacts& device,
                                             const ModelFacts& model) const {
  auto c = std::find_if(contracts_.begin(), contracts_.end(), [&](const Contract& x) { return x.id == contract; });
  if (c == contracts_.end()) return {false, "no contract " + contract + " is loaded"};
  if (!c->Constrains(knob)) return {false, "contract " + contract + " constrains " + c->knob + ", not " + knob};
  Answer proof;
  for (const ParityRecord& record : records_) {
    if (!record.Matches(device) || !record.MatchesModel(model)) continue;
    std::vector<CheckFinding> findings;
    CheckOne(*c, c->VariantOf(knob, value), record, CheckFinding{}, findings);
    if (findings.empty()) continue;
    for (const CheckFinding& f : findings) {
      if (f.kind == CheckFinding::kViolation) {
        return {false, RecordScope(record) + " shows " + value + " breaking " + contract + ": " + f.metric + " " +
                           FormatNumber(f.measured) + " on " + f.workload + ", needs " + f.threshold};
      }
    }
    const bool all_pass = std::all_of(findings.begin(), findings.end(),
                                      [](const CheckFinding& f) { return f.kind == CheckFinding::kPass; });
    if (all_pass && !proof.proven) {
      proof = {true, "proven by " + RecordScope(record) + ": " + findings[0].metric + " " +
                         FormatNumber(findings[0].measured) + " on " + findings[0].workload + " (" +
                         findings[0].threshold + ")"};
    }
  }
  if (proof.proven) return proof;
  return {false, "no record proves " + contract + " for " + knob + " = " + value + " on " + device.name +
                     (model.empty() ? "" : " with " + model.Describe())};
}

Expected<EvidenceSet> LoadEvidenceSet(const std::string& contracts_directory, const std::string& records_directory) {
  std::error_code ec;
  for (auto [directory, what] : {std::pair{&contracts_directory, "contracts"}, std::pair{&records_directory, "records"}}) {
    if (!std::filesystem::is_directory(*directory, ec)) {
      return Fail(ErrorCode::kUnreadable, SourceLocation{*directory}, std::string("no such ") + what + " folder");
    }
    std::filesystem::directory_iterator listing(*directory, ec);
    if (ec) return Fail(ErrorCode::kUnreadable, SourceLocation{*directory}, "cannot read the folder: " + ec.message());
  }
  auto contracts = LoadContractDirectory(contracts_directory);
  auto records = LoadParityRecordDirectory(records_directory);
  if (!contracts.ok() || !records.ok()) {
    Diagnostics all;
    if (!contracts.ok()) all.Append(contracts.error());
    if (!records.ok()) all.Append(records.error());
    return Fail(all.ToError(ErrorCode::kInvalidInput));
  }
  return EvidenceSet{std::move(contracts).value(), std::move(records).value()};
}

Diagnostics CheckEvidenceRules(const Policy& policy, const std::vector<Contract>& contracts) {
  Diagnostics out;
  for (const Knob& knob : policy.knobs) {
    for (const Rule& rule : knob.rules) {
      for (const std::string& id : rule.evidence) {
        auto c = std::find_if(contracts.begin(), contracts.end(), [&](const Contract& x) { return x.id == id; });
        if (c == contracts.end()) {
          out.Error(rule.location, "rule '" + rule.id + "' of knob '" + knob.name + "' asks for evidence under contract " +
                                       id + ", which the contracts loaded do not define");
        } else if (!c->Constrains(knob.name)) {
          out.Error(rule.location, "rule '" + rule.id + "' of knob '" + knob.name + "' asks for evidence under contract " +
                                       id + ", which constrains knob '" + c->knob + "'");
        }
      }
    }
  }
  return out;
}

const Knob* ConstrainedKnob(const Contract& contract, const Policy& policy) {
  if (const Knob* k = policy.FindKnob(contract.knob)) return k;
  for (const Contract::Alias& a : contract.aliases) {
    if (const Knob* k = policy.FindKnob(a.knob)) return k;
  }
  return nullptr;
}

std::string RecordScope(const ParityRecord& record) {
  std::string out = record.file;
  if (record.covers_range) out += " (covers " + record.covers_text + ")";
  if (!record.model.empty()) out += " [model " + record.model.Describe() + "]";
  return out;
}

std::string CheckFinding::Outcome() const {
  std::string head = (environment.empty() ? "" : "with " + environment + ", ") + knob + " = " +
                     (value.empty() ? variant : value + " (" + variant + ")");
  switch (kind) {
    case kPass:
      return head + " meets " + contract + ": " + metric + " " + FormatNumber(measured) + " on " + workload +
             " (" + threshold + ")";
    case kViolation:
      // The shape names what was measured (for model-level rows: the model).
      return head + " breaks " + contract + ": " + metric + " " + FormatNumber(measured) + " on " + workload +
             ", needs " + threshold + (shape.empty() ? "" : " (measured on " + shape + ")");
    case kUnproven:
      return head + " is unproven for " + contract + ": " + detail;
  }
  return head;
}

std::string CheckFinding::ToString() const {
  return policy + " on " + device + ": " + Outcome() + " [" + provenance + "]";
}

int CheckReport::Count(CheckFinding::Kind kind, bool clean_environment) const {
  int n = 0;
  for (const CheckFinding& f : findings) {
    n += f.kind == kind && f.environment.empty() == clean_environment;
  }
  return n;
}

CheckReport CheckContracts(const Policy& policy, const std::vector<Contract>& contracts,
                           const std::vector<ParityRecord>& records) {
  CheckReport report;
  const std::string policy_name = policy.name + " " + policy.version + " (" + policy.file + ")";
  for (const Contract& c : contracts) {
    if (!ConstrainedKnob(c, policy)) {
      std::string spellings = "'" + c.knob + "'";
      for (const Contract::Alias& a : c.aliases) spellings += " or '" + a.knob + "'";
      report.errors.push_back(ErrorAt(c.location, "contract " + c.id + " constrains knob " + spellings +
                                                      ", which policy " + policy_name + " does not have"));
    }
  }
  CheckVariantNames(policy, policy_name, contracts, records, report.errors);
  if (!report.errors.empty()) return report;

  const RecordEvidence evidence(contracts, records);
  // Records times overrides times values tried, each an evaluation of the
  // whole policy: one budget bounds them all, and passing it stops check
  // with an error rather than a partial verdict.
  EvaluationBudget budget;
  auto out_of_budget = [&](const SourceLocation& where) {
    report.errors.push_back(ErrorAt(where, "check stopped: " + budget.Message()));
    return report;
  };
  for (const ParityRecord& record : records) {
    CheckFinding base;
    base.policy = policy_name;
    base.device = record.device.name + " (" + RecordScope(record) + ")";
    auto clean = Evaluate(policy, record.device, record.model, Environment(), {}, &evidence, &budget);
    if (budget.spent()) return out_of_budget(clean.ok() ? SourceLocation{policy.file} : clean.error().place);
    if (!clean.ok()) {
      const Error& e = clean.error();
      report.errors.push_back(ErrorAt(e.place, "on " + base.device + ", the policy cannot be evaluated: " + e.message));
      continue;
    }
    CollectRefusals(*clean, base.device + ": ", report.refusals);
    for (const Contract& c : contracts) CheckDecided(c, *ConstrainedKnob(c, policy), *clean, record, base, report.findings);
    // What each declared override would select, where it differs.
    for (const Knob& knob : policy.knobs) {
      for (size_t i = 0; i < knob.env.size(); ++i) {
        std::optional<Environment> env = Triggering(policy, knob, i, record.device, budget);
        if (budget.spent()) return out_of_budget(knob.location);
        if (!env) {
          const EnvOverride& e = knob.env[i];
          std::string tried;
          for (const std::string& v : CandidateValues(e)) tried += (tried.empty() ? "" : ", ") + JsonQuote(v);
          report.unreached_overrides.push_back(e.location.ToString() + ": override " + e.var + " of knob " + knob.name +
                                               " decides nothing on " + base.device + " with " + e.var + " = " +
                                               tried + "; what it would select there is not checked");
          continue;
        }
        auto forced = Evaluate(policy, record.device, record.model, *env, {}, &evidence, &budget);
        if (budget.spent()) return out_of_budget(forced.ok() ? knob.location : forced.error().place);
        base.environment = env->variables()[0].first + "=" + env->variables()[0].second;
        const std::string where = base.device + ": with " + base.environment + ", ";
        if (!forced.ok()) {
          if (forced.error().message.rfind("refused: ", 0) == 0) report.refusals.push_back(where + forced.error().message);
          base.environment.clear();
          continue;
        }
        CollectRefusals(*forced, where, report.refusals);
        for (const Contract& c : contracts) {
          const Knob* constrained = ConstrainedKnob(c, policy);
          if (forced->ValueText(*constrained) == clean->ValueText(*constrained)) continue;
          CheckDecided(c, *constrained, *forced, record, base, report.findings);
        }
        base.environment.clear();
      }
    }
  }
  return report;
}

std::map<std::string, std::vector<Evidence>> FindEvidence(const Decision& decision,
                                                          const std::vector<Contract>& contracts,
                                                          const std::vector<ParityRecord>& records) {
  std::map<std::string, std::vector<Evidence>> out;
  for (const ParityRecord& record : records) {
    if (!record.Matches(decision.device)) continue;
    // A record of another model does not speak for this one; with the model
    // unknown, a model's record is still shown, failures included.
    if (!decision.model.empty() && !record.MatchesModel(decision.model)) continue;
    for (const Contract& c : contracts) {
      const Knob* knob = ConstrainedKnob(c, *decision.policy);
      if (!knob) continue;
      std::vector<CheckFinding> findings;
      CheckDecided(c, *knob, decision, record, CheckFinding{}, findings);
      for (const CheckFinding& f : findings) {
        Evidence e;
        e.contract = c.id;
        e.source = RecordScope(record) + ": " + f.provenance;
        if (f.kind == CheckFinding::kUnproven) {
          e.claim = f.detail;
        } else {
          e.status = f.kind == CheckFinding::kPass ? Evidence::kMeets : Evidence::kBreaks;
          e.claim = f.metric + " " + FormatNumber(f.measured) + " on " + f.workload + ", needs " + f.threshold;
          e.metric = f.metric;
          e.workload = f.workload;
          e.threshold = f.threshold;
          e.measured = f.measured;
        }
        out[knob->name].push_back(std::move(e));
      }
    }
  }
  return out;
}

}  // namespace kpolicy
