#include "policy_overlay.h"

#include <algorithm>
#include <iterator>

namespace kpolicy {

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
    if (k.default_value.present) {
      b.default_value = k.default_value;
      b.default_why = k.default_why;
      b.default_refs = k.default_refs;
    }
    if (k.constraints) b.constraints = std::move(k.constraints);
    if (k.fallback.present) b.fallback = k.fallback;
    if (k.env) b.env = std::move(k.env);
    for (const auto& removal : k.remove_rules) {
      const auto& [id, where] = removal;
      auto it = std::find_if(b.rules.begin(), b.rules.end(),
                             [&removal](const RawRule& r) { return r.id == removal.first; });
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

}  // namespace kpolicy
