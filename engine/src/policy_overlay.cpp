#include "policy_overlay.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kpolicy {

namespace {

// The rules of a knob both the base and the overlay have. Each base rule is
// kept, replaced in place (an overlay rule of its id) or removed
// (`remove_rules`); each new overlay rule goes first (in the overlay's
// order) or into the group before or after the base rule it names. One pass
// over each list with maps by id, so the cost is n log n in the rules.
class RuleMerge {
 public:
  RuleMerge(const std::string& knob, Diagnostics& diagnostics) : knob_(knob), diagnostics_(diagnostics) {}

  std::vector<RawRule> Merge(std::vector<RawRule> base, std::vector<RawRule> overlay,
                             const std::vector<std::pair<std::string, SourceLocation>>& remove) {
    for (size_t i = 0; i < base.size(); ++i) index_.emplace(base[i].id, i);
    removed_.assign(base.size(), false);
    Remove(remove);
    std::vector<RawRule> first;
    std::vector<std::vector<RawRule>> before(base.size()), after(base.size());
    std::map<std::string, SourceLocation> overlay_ids;
    for (RawRule& r : overlay) {
      if (auto [seen, fresh] = overlay_ids.emplace(r.id, r.where); !fresh) {
        Error(r.where, "duplicate rule id '" + r.id + "' in knob '" + knob_ + "' (first at " + LineOf(seen->second) +
                           "): the second would silently replace the first");
        continue;
      }
      const std::string& anchor = r.before.empty() ? r.after : r.before;
      const auto same = index_.find(r.id);
      if (same != index_.end() && !removed_[same->second]) {
        if (!anchor.empty()) {
          Error(r.where, "rule '" + r.id + "' replaces the base's rule of that id in place; 'before'/'after' apply to new rules");
        }
        base[same->second] = std::move(r);
        continue;
      }
      if (same != index_.end() && anchor.empty()) {
        // Removed and written again: it would move ahead of every base
        // rule, and the order of rules is the decision.
        Error(r.where, "rule '" + r.id + "' is removed and added again without 'before' or 'after', which would "
                       "move it ahead of the base's rules: to change it in place, leave it out of 'remove_rules'; "
                       "to move it, say where with 'before' or 'after'");
        continue;
      }
      if (anchor.empty()) {
        first.push_back(std::move(r));
        continue;
      }
      const auto at = index_.find(anchor);
      if (at == index_.end() || removed_[at->second]) {
        Error(r.where, "rule '" + r.id + "' is placed " + (r.before.empty() ? "after" : "before") + " '" + anchor +
                           "', which knob '" + knob_ + "' of the base does not have" +
                           (at == index_.end() ? "" : " once 'remove_rules' has removed it"));
        continue;
      }
      (r.before.empty() ? after : before)[at->second].push_back(std::move(r));
    }
    std::vector<RawRule> out = std::move(first);
    for (size_t i = 0; i < base.size(); ++i) {
      for (RawRule& r : before[i]) out.push_back(std::move(r));
      if (!removed_[i]) out.push_back(std::move(base[i]));
      for (RawRule& r : after[i]) out.push_back(std::move(r));
    }
    return out;
  }

 private:
  void Remove(const std::vector<std::pair<std::string, SourceLocation>>& remove) {
    std::map<std::string, SourceLocation> listed;
    for (const auto& [id, where] : remove) {
      if (auto [seen, fresh] = listed.emplace(id, where); !fresh) {
        Error(where, "rule '" + id + "' is listed twice in 'remove_rules' (first at " + LineOf(seen->second) + ")");
        continue;
      }
      const auto it = index_.find(id);
      if (it == index_.end()) {
        Error(where, "'remove_rules': knob '" + knob_ + "' of the base has no rule '" + id + "'");
      } else {
        removed_[it->second] = true;
      }
    }
  }

  void Error(const SourceLocation& where, std::string message) { diagnostics_.Error(where, std::move(message)); }

  const std::string& knob_;
  Diagnostics& diagnostics_;
  std::map<std::string, size_t> index_;  // base rule id -> its position (the first, if repeated)
  std::vector<bool> removed_;
};

void MergeKnob(RawKnob& b, RawKnob k, Diagnostics& diagnostics) {
  if (k.type) {
    diagnostics.Error(k.type_where, "an overlay cannot change the type of knob '" + k.name + "' (declared at " +
                                        b.type_where.ToString() + ")");
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
  b.rules = RuleMerge(k.name, diagnostics).Merge(std::move(b.rules), std::move(k.rules), k.remove_rules);
}

}  // namespace

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

  std::map<std::string, size_t> fact_index;
  for (size_t i = 0; i < out.facts.size(); ++i) fact_index.emplace(out.facts[i].name, i);
  for (RawFact& f : overlay.facts) {
    if (auto it = fact_index.find(f.name); it != fact_index.end()) {
      out.facts[it->second] = std::move(f);
    } else {
      fact_index.emplace(f.name, out.facts.size());
      out.facts.push_back(std::move(f));
    }
  }

  std::map<std::string, size_t> knob_index;
  for (size_t i = 0; i < out.knobs.size(); ++i) knob_index.emplace(out.knobs[i].name, i);
  for (RawKnob& k : overlay.knobs) {
    if (auto it = knob_index.find(k.name); it != knob_index.end()) {
      MergeKnob(out.knobs[it->second], std::move(k), diagnostics);
      continue;
    }
    for (const RawRule& r : k.rules) {
      if (!r.before.empty() || !r.after.empty()) {
        diagnostics.Error(r.where, "rule '" + r.id + "': 'before'/'after' place rules among a base's rules, and the base has no knob '" + k.name + "'");
      }
    }
    if (!k.remove_rules.empty()) {
      diagnostics.Error(k.remove_rules[0].second, "'remove_rules': the base has no knob '" + k.name + "'");
    }
    knob_index.emplace(k.name, out.knobs.size());
    out.knobs.push_back(std::move(k));
  }
  return out;
}

}  // namespace kpolicy
