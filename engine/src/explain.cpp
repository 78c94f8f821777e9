#include "kpolicy/explain.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string_view>

#include "kpolicy/printable.h"

namespace kpolicy {
namespace {

// ---- Shared pieces -------------------------------------------------------------

void WriteValue(JsonWriter& w, const Type& type, const Value& v) {
  switch (type.kind) {
    case TypeKind::kBool: w.Bool(v.number != 0); break;
    case TypeKind::kInt: w.Int(v.number); break;
    case TypeKind::kString:
    case TypeKind::kVersion: w.String(v.text); break;
    case TypeKind::kEnum: w.String(FormatValue(type, v)); break;
  }
}

std::vector<std::string> AllWarnings(const Decision& d, const ExplainOptions& options) {
  std::vector<std::string> out = d.warnings;
  out.insert(out.end(), options.extra_warnings.begin(), options.extra_warnings.end());
  return out;
}

// The values an expression read, as "name = value" pairs.
std::vector<std::pair<std::string, std::string>> Reads(const Decision& d, const Expression& e) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int slot : e.reads()) {
    const SlotInfo& info = d.policy->slots[slot];
    std::string shown = FormatValue(info.type, d.slots[slot]);
    if (info.type.kind == TypeKind::kString || info.type.kind == TypeKind::kVersion) shown = JsonQuote(shown);
    out.emplace_back(info.name, shown);
  }
  return out;
}

std::string CcText(const DeviceFacts& device) {
  return std::to_string(device.cc_major) + "." + std::to_string(device.cc_minor);
}

const char* OutcomeName(EnvCheck::Outcome o) {
  switch (o) {
    case EnvCheck::kNotSet: return "not_set";
    case EnvCheck::kConditionFalse: return "condition_false";
    case EnvCheck::kApplied: return "applied";
    case EnvCheck::kIgnored: return "ignored";
    case EnvCheck::kShadowed: return "shadowed";
  }
  return "?";
}

std::string SourceText(const Knob& knob, const KnobTrace& t) {
  if (t.refused_by >= 0) return "refused " + t.refused_value + ": fallback";
  switch (t.decided_by) {
    case KnobTrace::kEnv: return "env " + knob.env[t.index].var;
    case KnobTrace::kRule: return "rule " + knob.rules[t.index].id;
    case KnobTrace::kDefault: return "default";
    case KnobTrace::kPinned: return "pinned";
  }
  return "?";
}

// ---- Text -------------------------------------------------------------------

class TextRenderer {
 public:
  TextRenderer(const Decision& d, const ExplainOptions& o) : d_(d), o_(o) {}

  std::string Explain() {
    Header();
    for (size_t i = 0; i < d_.policy->knobs.size(); ++i) Knob(d_.policy->knobs[i], d_.knobs[i]);
    Warnings();
    return out_;
  }

  std::string Eval() {
    size_t width = 0;
    for (const auto& k : d_.policy->knobs) width = std::max(width, k.name.size());
    for (size_t i = 0; i < d_.policy->knobs.size(); ++i) {
      const auto& k = d_.policy->knobs[i];
      std::string line = Paint(kBold, Pad(k.name, width)) + " = " + d_.ValueText(k);
      line = Pad(line, width + 3 + 14 + (o_.color ? 8 : 0)) + "  " +
             Paint(kDim, "(" + SourceText(k, d_.knobs[i]) + ")");
      out_ += line + "\n";
    }
    Warnings();
    return out_;
  }

 private:
  // The palette: the only escape sequences policyctl's output lets through.
  static constexpr std::string_view kBold = terminal_style::kBold;
  static constexpr std::string_view kDim = terminal_style::kDim;
  static constexpr std::string_view kGreen = terminal_style::kGreen;
  static constexpr std::string_view kRed = terminal_style::kRed;
  static constexpr std::string_view kYellow = terminal_style::kYellow;
  static constexpr std::string_view kCyan = terminal_style::kCyan;
  static constexpr size_t kWidth = 100;

  std::string Paint(std::string_view style, const std::string& s) const {
    return o_.color ? std::string(style) + s + std::string(terminal_style::kReset) : s;
  }
  static std::string Pad(std::string s, size_t n) {
    if (s.size() < n) s.append(n - s.size(), ' ');
    return s;
  }

  // `text` word-wrapped to kWidth, every line starting with `indent`
  // spaces (the first with `first_prefix` after them), each line ending "\n".
  static std::string Wrap(const std::string& text, size_t indent, const std::string& first_prefix = "") {
    std::string out;
    std::string line = std::string(indent, ' ') + first_prefix;
    const size_t empty_len = line.size();
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find(' ', pos);
      if (end == std::string::npos) end = text.size();
      const std::string word = text.substr(pos, end - pos);
      pos = end + 1;
      if (word.empty()) continue;
      if (line.size() > empty_len && line.size() + 1 + word.size() > kWidth) {
        out += line + "\n";
        line = std::string(indent + first_prefix.size(), ' ');
      }
      if (line.size() > indent + first_prefix.size()) line += ' ';
      line += word;
    }
    return out + line + "\n";
  }

  std::string ReadsText(const Expression& e) const {
    std::string s;
    for (const auto& [name, value] : Reads(d_, e)) {
      if (!s.empty()) s += ", ";
      s += name + " = " + value;
    }
    return s;
  }

  void Header() {
    const Policy& p = *d_.policy;
    out_ += Paint(kBold, "policy  ") + p.name + " " + p.version + "\n";
    std::string file = "        " + p.file;
    if (!o_.policy_origin.empty()) file += "  (" + o_.policy_origin + ")";
    out_ += Paint(kDim, file) + "\n";
    for (const std::string& base : p.bases) out_ += Paint(kDim, "        extends " + base) + "\n";

    const DeviceFacts& dev = d_.device;
    std::string facts = "cc " + CcText(dev) + ", " + std::to_string(dev.num_sms) + " SMs";
    if (dev.memory_mib > 0) facts += ", " + std::to_string(dev.memory_mib / 1024) + " GiB";
    if (dev.bandwidth_gbps > 0) facts += ", " + std::to_string(dev.bandwidth_gbps) + " GB/s";
    out_ += Paint(kBold, "device  ") + dev.name + ": " + facts + "\n";
    std::string from = "        from " + dev.source;
    if (!dev.driver_version.empty()) from += ", driver " + dev.driver_version + ", CUDA runtime " + dev.runtime_version;
    out_ += Paint(kDim, from) + "\n";
    for (const std::string& f : dev.fallbacks) out_ += "        " + Paint(kYellow, "! " + f) + "\n";
    if (!d_.model.empty()) out_ += Paint(kBold, "model   ") + d_.model.Describe() + "\n";

    std::vector<std::string> set;
    for (size_t i = 0; i < p.env_slots.size(); ++i) {
      if (!d_.env_set[i]) continue;
      const int slot = p.env_slots[i];
      set.push_back(p.slots[slot].name + "=" + JsonQuote(d_.slots[slot].text));
    }
    std::string env = "reads " + std::to_string(p.env_slots.size()) + " variables; ";
    if (set.empty()) {
      env += "none is set";
    } else {
      env += "set: ";
      for (size_t i = 0; i < set.size(); ++i) env += (i ? ", " : "") + set[i];
    }
    out_ += Paint(kBold, "env     ") + env + "\n";
    std::string names;
    for (const std::string& n : p.EnvironmentVariables()) names += (names.empty() ? "" : " ") + n;
    if (!names.empty()) {
      const std::string wrapped = Wrap(names, 8);
      out_ += Paint(kDim, wrapped.substr(0, wrapped.size() - 1)) + "\n";
    }
  }

  void Step(const char* mark, std::string_view style, const std::string& label, const std::string& body) {
    out_ += "  " + Paint(style, mark) + " " + Pad(label, 8) + body + "\n";
  }

  void Knob(const kpolicy::Knob& k, const KnobTrace& t) {
    out_ += "\n" + Paint(kBold, k.name) + " = " + Paint(kCyan, d_.ValueText(k)) + "   " +
            Paint(kDim, "(" + SourceText(k, t) + ")") + "\n";
    EnvSteps(k, t);
    const int tried = t.rules_tried();
    for (int i = 0; i < tried; ++i) {
      const Rule& r = k.rules[i];
      Step("✗", kRed, "rule", r.id + ": " + r.when.text() + Paint(kDim, "   [" + ReadsText(r.when) + "]"));
      if (static_cast<size_t>(i) < t.evidence.size() && !t.evidence[i].empty()) {
        out_ += Wrap(t.evidence[i], 12, "evidence  ");
      }
    }
    if (t.decided_by == KnobTrace::kRule) {
      const Rule& r = k.rules[t.index];
      std::string reads = ReadsText(r.when);
      Step("✓", kGreen, "rule", r.id + ": " + r.when.text() + (reads.empty() ? "" : Paint(kDim, "   [" + reads + "]")));
      if (!r.value.constant()) {
        out_ += "            value " + r.value.text() + Paint(kDim, "   [" + ReadsText(r.value) + "]") + "\n";
      }
      WhyAndRefs(r.why, r.refs);
      if (static_cast<size_t>(t.index) < t.evidence.size() && !t.evidence[t.index].empty()) {
        out_ += Wrap(t.evidence[t.index], 12, "evidence  ");
      }
      out_ += Paint(kDim, "            at   " + r.location.ToString()) + "\n";
    } else if (t.decided_by == KnobTrace::kPinned) {
      Step("!", kYellow, "pinned", t.pin_reason);
    } else if (t.decided_by == KnobTrace::kDefault) {
      std::string reads = ReadsText(k.default_value);
      Step("✓", kGreen, "default", k.default_value.text() + (reads.empty() ? "" : Paint(kDim, "   [" + reads + "]")));
      WhyAndRefs(k.default_why, k.default_refs);
    } else if (!k.rules.empty()) {
      out_ += Paint(kDim, "  · rules   not tried: an environment override decided") + "\n";
    }
    if (t.refused_by >= 0) {
      const Constraint& c = k.constraints[t.refused_by];
      // The condition read the refused value, not the fallback now held.
      std::string reads;
      for (const auto& [name, value] : Reads(d_, c.condition)) {
        reads += (reads.empty() ? "" : ", ") + name + " = " + (name == k.name ? t.refused_value : value);
      }
      Step("✗", kRed, "refused", t.refused_value + ": requires " + c.condition.text() +
                                     (reads.empty() ? "" : Paint(kDim, "   [" + reads + "]")));
      out_ += Wrap(c.message, 12, "why  ");
      out_ += "            took the fallback " + d_.ValueText(k) + Paint(kDim, "   (on_fail: fallback-and-warn)") + "\n";
      out_ += Paint(kDim, "            at   " + c.location.ToString()) + "\n";
    }
    if (auto it = o_.evidence.find(k.name); it != o_.evidence.end()) EvidenceSteps(it->second);
  }

  void WhyAndRefs(const std::string& why, const std::vector<std::string>& refs) {
    if (!why.empty()) out_ += Wrap(why, 12, "why  ");
    if (refs.empty()) return;
    std::string joined;
    for (const std::string& ref : refs) joined += (joined.empty() ? "" : ", ") + ref;
    out_ += "            refs " + joined + "\n";
  }

  // What an override's condition and value read besides its own variable
  // (shown already): "[device.cc = 121]".
  std::string OtherReads(const EnvOverride& e) const {
    std::string s;
    for (const Expression* x : {&e.when, &e.value}) {
      if (x == &e.when && !e.has_condition) continue;
      for (const auto& [name, value] : Reads(d_, *x)) {
        if (name == e.var || s.find(name + " = ") != std::string::npos) continue;
        s += (s.empty() ? "" : ", ") + name + " = " + value;
      }
    }
    return s.empty() ? "" : Paint(kDim, "   [" + s + "]");
  }

  // Evidence grouped by the record it comes from, the source named once,
  // and one line per contract and metric listing the workloads' figures.
  void EvidenceSteps(const std::vector<Evidence>& evidence) {
    std::string source;
    for (size_t i = 0; i < evidence.size();) {
      const Evidence& e = evidence[i];
      if (e.source != source) {
        source = e.source;
        out_ += "  " + Paint(kCyan, "◆") + " " + Pad("evidence", 9) + Paint(kDim, Wrap(source, 12).substr(12));
      }
      const char* mark = e.status == Evidence::kMeets ? "✓" : e.status == Evidence::kBreaks ? "✗" : "?";
      std::string_view style = e.status == Evidence::kMeets ? kGreen : e.status == Evidence::kBreaks ? kRed : kYellow;
      std::string claim = e.claim;
      size_t j = i + 1;
      if (e.status != Evidence::kUnproven) {
        claim = e.metric + " " + FormatNumber(e.measured) + " on " + e.workload;
        for (; j < evidence.size(); ++j) {
          const Evidence& n = evidence[j];
          if (n.source != e.source || n.contract != e.contract || n.metric != e.metric || n.status != e.status) break;
          claim += ", " + FormatNumber(n.measured) + " on " + n.workload;
        }
        claim += " (needs " + e.threshold + ")";
      }
      out_ += "            " + Paint(style, mark) + " " + e.contract + "  " + claim + "\n";
      i = j;
    }
  }

  void EnvSteps(const kpolicy::Knob& k, const KnobTrace& t) {
    std::vector<std::string> unset;
    std::set<std::string> listed;  // in `unset`: n log n, however many overrides
    auto flush_unset = [&] {
      if (unset.empty()) return;
      std::string names;
      for (const std::string& n : unset) names += (names.empty() ? "" : ", ") + n;
      Step("·", kDim, "env", Paint(kDim, names + " not set"));
      unset.clear();
      listed.clear();
    };
    for (size_t i = 0; i < k.env.size(); ++i) {
      const EnvOverride& e = k.env[i];
      const EnvCheck& c = t.env[i];
      if (c.outcome == EnvCheck::kNotSet) {
        if (listed.insert(e.var).second) unset.push_back(e.var);
        continue;
      }
      flush_unset();
      const std::string shown = e.var + "=" + JsonQuote(d_.slots[e.var_slot].text);
      const std::string cond = e.has_condition ? " when " + e.when.text() : " (set)";
      switch (c.outcome) {
        case EnvCheck::kApplied:
          Step("✓", kGreen, "env", shown + cond + " -> " + e.value.text() + OtherReads(e) +
                                       (e.presence_only() ? Paint(kDim, "   (acts on presence alone)") : ""));
          if (!e.why.empty()) out_ += Wrap(e.why, 12, "why  ");
          break;
        case EnvCheck::kConditionFalse:
          Step("✗", kRed, "env", shown + cond + OtherReads(e) + Paint(kDim, "   (does not hold)"));
          break;
        case EnvCheck::kIgnored:
          Step("!", kYellow, "env", shown + " ignored: " + c.detail);
          break;
        case EnvCheck::kShadowed:
          Step("·", kDim, "env", shown + Paint(kDim, "   (set, but an earlier override decided)"));
          break;
        case EnvCheck::kNotSet:
          break;
      }
    }
    flush_unset();
  }

  void Warnings() {
    std::vector<std::string> all = AllWarnings(d_, o_);
    if (all.empty()) return;
    out_ += "\n" + Paint(kBold, "warnings") + "\n";
    for (const std::string& w : all) {
      out_ += "  " + Paint(kYellow, "!") + Wrap(w, 4).substr(3);
    }
  }

  const Decision& d_;
  const ExplainOptions& o_;
  std::string out_;
};

// ---- JSON -------------------------------------------------------------------

void WritePolicy(JsonWriter& w, const Decision& d, const ExplainOptions& o) {
  const Policy& p = *d.policy;
  w.Key("policy").BeginObject();
  w.Key("name").String(p.name).Key("version").String(p.version).Key("file").String(p.file);
  if (!o.policy_origin.empty()) w.Key("origin").String(o.policy_origin);
  w.Key("bases").BeginArray();
  for (const std::string& b : p.bases) w.String(b);
  w.EndArray().EndObject();
}

void WriteDevice(JsonWriter& w, const DeviceFacts& dev) {
  w.Key("device").BeginObject();
  w.Key("name").String(dev.name).Key("cc").String(CcText(dev)).Key("cc_major").Int(dev.cc_major);
  w.Key("cc_minor").Int(dev.cc_minor).Key("num_sms").Int(dev.num_sms);
  if (dev.memory_mib > 0) w.Key("memory_mib").Int(dev.memory_mib);
  if (dev.bandwidth_gbps > 0) w.Key("bandwidth_gbps").Int(dev.bandwidth_gbps);
  if (!dev.driver_version.empty()) w.Key("driver").String(dev.driver_version);
  if (!dev.runtime_version.empty()) w.Key("cuda_runtime").String(dev.runtime_version);
  w.Key("source").String(dev.source);
  w.Key("fallbacks").BeginArray();
  for (const std::string& f : dev.fallbacks) w.String(f);
  w.EndArray().EndObject();
}

void WriteWarnings(JsonWriter& w, const Decision& d, const ExplainOptions& o) {
  w.Key("warnings").BeginArray();
  for (const std::string& warning : AllWarnings(d, o)) w.String(warning);
  w.EndArray();
}

void WriteReads(JsonWriter& w, const Decision& d, const Expression& e, const char* key = "reads") {
  w.Key(key).BeginObject();
  for (int slot : e.reads()) {
    w.Key(d.policy->slots[slot].name);
    WriteValue(w, d.policy->slots[slot].type, d.slots[slot]);
  }
  w.EndObject();
}

void WriteRule(JsonWriter& w, const Decision& d, const Rule& r, const KnobTrace& t, int index) {
  w.Key("id").String(r.id).Key("when").String(r.when.text());
  WriteReads(w, d, r.when);
  if (static_cast<size_t>(index) < t.evidence.size() && !t.evidence[index].empty()) {
    w.Key("evidence").String(t.evidence[index]);
  }
  w.Key("location").String(r.location.ToString());
}

void WriteKnob(JsonWriter& w, const Decision& d, const Knob& k, const KnobTrace& t, const ExplainOptions& o) {
  w.BeginObject();
  w.Key("name").String(k.name).Key("type").String(k.type.ToString()).Key("value");
  WriteValue(w, k.type, d.value(k));
  w.Key("decided_by").BeginObject();
  switch (t.decided_by) {
    case KnobTrace::kEnv: {
      const EnvOverride& e = k.env[t.index];
      w.Key("kind").String("env").Key("var").String(e.var).Key("value").String(d.slots[e.var_slot].text);
      if (e.has_condition) w.Key("when").String(e.when.text());
      w.Key("expression").String(e.value.text()).Key("presence_only").Bool(e.presence_only());
      if (e.has_condition) WriteReads(w, d, e.when, "reads");
      WriteReads(w, d, e.value, "value_reads");
      w.Key("why").String(e.why);
      w.Key("location").String(e.location.ToString());
      break;
    }
    case KnobTrace::kRule: {
      const Rule& r = k.rules[t.index];
      w.Key("kind").String("rule");
      WriteRule(w, d, r, t, t.index);
      w.Key("value_expression").String(r.value.text()).Key("why").String(r.why);
      w.Key("refs").BeginArray();
      for (const std::string& ref : r.refs) w.String(ref);
      w.EndArray();
      break;
    }
    case KnobTrace::kPinned:
      w.Key("kind").String("pinned").Key("reason").String(t.pin_reason);
      break;
    case KnobTrace::kDefault:
      w.Key("kind").String("default").Key("expression").String(k.default_value.text());
      WriteReads(w, d, k.default_value);
      w.Key("why").String(k.default_why);
      w.Key("refs").BeginArray();
      for (const std::string& ref : k.default_refs) w.String(ref);
      w.EndArray();
      w.Key("location").String(k.location.ToString());
      break;
  }
  w.EndObject();
  if (t.refused_by >= 0) {
    const Constraint& c = k.constraints[t.refused_by];
    w.Key("refused").BeginObject().Key("value").String(t.refused_value);
    w.Key("condition").String(c.condition.text());
    WriteReads(w, d, c.condition);
    w.Key("message").String(c.message).Key("on_fail").String("fallback-and-warn");
    w.Key("location").String(c.location.ToString()).EndObject();
  }
  w.Key("rules_not_matching").BeginArray();
  for (int i = 0; i < t.rules_tried(); ++i) {
    w.BeginObject();
    WriteRule(w, d, k.rules[i], t, i);
    w.EndObject();
  }
  w.EndArray();
  w.Key("env").BeginArray();
  for (size_t i = 0; i < k.env.size(); ++i) {
    const EnvOverride& e = k.env[i];
    const EnvCheck& c = t.env[i];
    w.BeginObject().Key("var").String(e.var).Key("outcome").String(OutcomeName(c.outcome));
    if (c.outcome != EnvCheck::kNotSet) w.Key("value").String(d.slots[e.var_slot].text);
    if (!c.detail.empty()) w.Key("detail").String(c.detail);
    w.EndObject();
  }
  w.EndArray();
  w.Key("evidence").BeginArray();
  if (auto it = o.evidence.find(k.name); it != o.evidence.end()) {
    for (const Evidence& e : it->second) {
      const char* status = e.status == Evidence::kMeets ? "meets" : e.status == Evidence::kBreaks ? "breaks" : "unproven";
      w.BeginObject().Key("contract").String(e.contract).Key("status").String(status);
      w.Key("claim").String(e.claim).Key("source").String(e.source);
      if (e.status != Evidence::kUnproven) {
        w.Key("metric").String(e.metric).Key("workload").String(e.workload);
        w.Key("measured").Double(e.measured).Key("threshold").String(e.threshold);
      }
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

void WriteDecisionObject(JsonWriter& w, const Decision& d) {
  w.BeginObject();
  for (const Knob& k : d.policy->knobs) {
    w.Key(k.name);
    WriteValue(w, k.type, d.value(k));
  }
  w.EndObject();
}

std::string RenderDecisionJson(const Decision& d) {
  JsonWriter w;
  w.BeginObject().Key("decision");
  WriteDecisionObject(w, d);
  w.EndObject();
  return w.text();
}

std::string RenderEvalText(const Decision& d, const ExplainOptions& options) {
  return TextRenderer(d, options).Eval();
}

std::string RenderEvalJson(const Decision& d, const ExplainOptions& options) {
  JsonWriter w;
  w.BeginObject();
  if (options.ordinal >= 0) w.Key("ordinal").Int(options.ordinal);
  WritePolicy(w, d, options);
  WriteDevice(w, d.device);
  w.Key("decision");
  WriteDecisionObject(w, d);
  WriteWarnings(w, d, options);
  w.EndObject();
  return w.text();
}

std::string RenderExplainText(const Decision& d, const ExplainOptions& options) {
  return TextRenderer(d, options).Explain();
}

std::string RenderExplainJson(const Decision& d, const ExplainOptions& options) {
  JsonWriter w(2);
  w.BeginObject();
  if (options.ordinal >= 0) w.Key("ordinal").Int(options.ordinal);
  WritePolicy(w, d, options);
  WriteDevice(w, d.device);
  if (!d.model.empty()) {
    w.Key("model").BeginObject().Key("architecture").String(d.model.architecture).Key("name").String(d.model.name);
    w.Key("quantisation").String(d.model.quantisation).Key("size").String(d.model.size).EndObject();
  }
  w.Key("environment").BeginObject().Key("declared").BeginArray();
  for (const std::string& n : d.policy->EnvironmentVariables()) w.String(n);
  w.EndArray().Key("set").BeginObject();
  for (size_t i = 0; i < d.policy->env_slots.size(); ++i) {
    if (!d.env_set[i]) continue;
    const int slot = d.policy->env_slots[i];
    w.Key(d.policy->slots[slot].name).String(d.slots[slot].text);
  }
  w.EndObject().EndObject();
  w.Key("decision");
  WriteDecisionObject(w, d);
  w.Key("knobs").BeginArray();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) WriteKnob(w, d, d.policy->knobs[i], d.knobs[i], options);
  w.EndArray();
  WriteWarnings(w, d, options);
  w.EndObject();
  return w.text() + "\n";
}

}  // namespace kpolicy
