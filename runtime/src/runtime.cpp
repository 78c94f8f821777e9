#include "kpolicy/runtime/runtime.h"

#include <algorithm>

#include "kpolicy/evaluator.h"
#include "kpolicy/json.h"
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::runtime {
namespace {

// The device to decide for: the probe's, or the seed's fallback facts when
// there is no GPU at all (then nothing runs on a GPU).
struct FoundDevice {
  DeviceFacts facts;
  bool real = false;
  std::string why_not;  // when there is no GPU: the probe's error
};

FoundDevice FindDevice(const StartOptions& options) {
  if (options.device) return {*options.device, options.device_is_real, ""};
  auto probed = ProbeLocalDevice();
  if (probed.ok()) return {*probed, true, ""};
  DeviceFacts d = DeviceFromComputeCapability(kFallbackCcMajor, kFallbackCcMinor, kFallbackNumSms, "no GPU");
  d.name = "no GPU";
  d.fallbacks.insert(d.fallbacks.begin(), "compute capability unreadable: assumed 7.0");
  return {d, false, probed.error().message};
}

std::string SourceOf(const Knob& k, const KnobTrace& t, const Decision& d) {
  switch (t.decided_by) {
    case KnobTrace::kEnv: return "env " + k.env[t.index].var + "=" + d.slots[k.env[t.index].var_slot].text;
    case KnobTrace::kRule: return "rule " + k.rules[t.index].id;
    case KnobTrace::kDefault: return "default";
    case KnobTrace::kPinned: return "gate fallback";
  }
  return "?";
}

std::string ReasonOf(const Knob& k, const KnobTrace& t) {
  switch (t.decided_by) {
    case KnobTrace::kEnv: return "environment override " + k.env[t.index].var;
    case KnobTrace::kRule: return k.rules[t.index].why;
    case KnobTrace::kDefault: return "no rule matched (" + std::to_string(t.rules_tried()) + " tried): the default";
    case KnobTrace::kPinned: return t.pin_reason;
  }
  return "";
}

// What the log line and the effective configuration share.
void WritePolicy(JsonWriter& w, const Runtime& rt) {
  w.Key("policy").BeginObject().Key("name").String(rt.policy().name).Key("version").String(rt.policy().version);
  w.Key("file").String(rt.policy().file).Key("source").String(rt.source().Describe());
  w.Key("sha256").String(rt.policy_sha256()).EndObject();
}

void WriteDevice(JsonWriter& w, const DeviceFacts& device) {
  w.Key("device").BeginObject().Key("name").String(device.name);
  w.Key("cc").String(std::to_string(device.cc_major) + "." + std::to_string(device.cc_minor));
  w.Key("num_sms").Int(device.num_sms).Key("source").String(device.source);
  if (!device.driver_version.empty()) w.Key("driver").String(device.driver_version);
  if (!device.runtime_version.empty()) w.Key("cuda_runtime").String(device.runtime_version);
  w.Key("fallbacks").BeginArray();
  for (const std::string& f : device.fallbacks) w.String(f);
  w.EndArray().EndObject();
}

void WriteGateAndFallbacks(JsonWriter& w, const Runtime& rt) {
  w.Key("gate").BeginArray();
  for (const GateResult& g : rt.gate_results()) {
    w.BeginObject().Key("knob").String(g.knob).Key("variant").String(g.variant).Key("passed").Bool(g.passed);
    w.Key("error_vs_cpu").Double(g.error_vs_cpu).Key("cosine_vs_reference").Double(g.cosine_vs_reference);
    w.Key("nonfinite").Int(g.nonfinite);
    if (!g.detail.empty()) w.Key("detail").String(g.detail);
    w.EndObject();
  }
  w.EndArray().Key("fallbacks").BeginArray();
  for (const std::string& f : rt.fallbacks()) w.String(f);
  w.EndArray();
}

void WriteHostKnobs(JsonWriter& w, const DispatchTable& t) {
  w.Key("host_knobs").BeginObject();
  for (const auto& [name, value] : t.host_knobs) w.Key(name).String(value);
  w.EndObject();
}

std::string LogLine(const Runtime& rt) {
  const Decision& d = rt.decision();
  JsonWriter w;
  w.BeginObject().Key("event").String("kpolicy.startup");
  WritePolicy(w, rt);
  WriteDevice(w, d.device);
  w.Key("kernels").String(rt.dispatch().gpu ? "gpu" : "cpu: " + rt.cpu_only_reason());
  w.Key("knobs").BeginObject();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
    const Knob& k = d.policy->knobs[i];
    w.Key(k.name).BeginObject().Key("value").String(d.ValueText(k));
    w.Key("source").String(SourceOf(k, d.knobs[i], d)).EndObject();
  }
  w.EndObject();
  WriteHostKnobs(w, rt.dispatch());
  WriteGateAndFallbacks(w, rt);
  w.EndObject();
  return w.text();
}

}  // namespace

Expected<std::unique_ptr<Runtime>> Runtime::Start(const StartOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime());
  const Environment env = options.environment ? *options.environment : Environment::FromProcess();

  auto resolved = ResolvePolicy({options.policy_path, options.system_policy_path}, env);
  if (!resolved.ok()) return Fail(std::move(resolved).error());
  rt->resolved_ = std::move(resolved).value();
  const Policy& policy = *rt->resolved_.policy;

  const FoundDevice found = FindDevice(options);
  const DeviceFacts& device = found.facts;
  const Capabilities caps = CapabilitiesFor(device, found.real);
  rt->cpu_only_reason_ = caps.gpu_kernels ? "" : found.why_not.empty() ? caps.why_no_gpu : found.why_not;

  std::vector<Pin> pins;
  // At most two rounds: the decision as the policy makes it, then with the
  // knobs that failed the gate pinned to their fallbacks.
  for (int round = 0; round < 2; ++round) {
    auto decision = Evaluate(policy, device, env, pins);
    if (!decision.ok()) {
      return Fail(ErrorCode::kInvalidInput, "policy " + policy.name + ": " +
                                                decision.error().ToString());
    }
    rt->decision_ = std::move(decision).value();
    auto table = BuildDispatch(rt->decision_, caps);
    if (!table.ok()) {
      Error e = std::move(table).error();
      e.message = "policy " + policy.name + " " + policy.version + " on " + device.name + ": " + e.message;
      return Fail(std::move(e));
    }
    rt->dispatch_ = std::move(table).value();

    const GateRunner& gate = options.gate ? options.gate : GateRunner(RunParityGate);
    if (!caps.gpu_kernels && !options.gate) break;  // nothing to gate: the CPU path is the reference
    rt->gate_ = gate(rt->dispatch_);
    std::vector<Pin> failed;
    for (const GateResult& g : rt->gate_) {
      if (g.passed) continue;
      const Knob* knob = policy.FindKnob(g.knob);
      const bool pinned_already =
          std::any_of(pins.begin(), pins.end(), [&](const Pin& p) { return p.knob == g.knob; });
      if (policy.gate_failure_is_fatal || !knob || !knob->fallback || pinned_already) {
        const std::string why = policy.gate_failure_is_fatal ? "the policy says on_gate_failure: fatal"
                                : pinned_already            ? "its fallback failed too"
                                                            : "knob " + g.knob + " declares no fallback";
        return Fail(ErrorCode::kCheckFailed, "parity gate: " + g.ToString() + "; stopping: " + why);
      }
      const std::string reason = "parity gate: " + g.variant + " failed (" + g.detail + "); fell back to " +
                                 FormatValue(knob->type, *knob->fallback);
      failed.push_back({g.knob, *knob->fallback, reason});
      rt->fallbacks_.push_back(g.knob + ": " + reason);
    }
    if (failed.empty()) break;
    pins.insert(pins.end(), failed.begin(), failed.end());
  }
  rt->log_line_ = LogLine(*rt);
  return rt;
}

std::string Runtime::EffectiveConfigJson(int indent) const {
  const Decision& d = decision_;
  JsonWriter w(indent);
  w.BeginObject();
  WritePolicy(w, *this);
  WriteDevice(w, d.device);
  w.Key("kernels").BeginObject().Key("gpu").Bool(dispatch_.gpu);
  if (!dispatch_.gpu) w.Key("cpu_only_reason").String(cpu_only_reason_);
  w.EndObject();
  w.Key("knobs").BeginArray();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
    const Knob& k = d.policy->knobs[i];
    const KnobTrace& t = d.knobs[i];
    w.BeginObject().Key("name").String(k.name).Key("type").String(k.type.ToString());
    w.Key("value").String(d.ValueText(k)).Key("source").String(SourceOf(k, t, d));
    if (t.decided_by == KnobTrace::kRule) w.Key("rule").String(k.rules[t.index].id);
    w.Key("reason").String(ReasonOf(k, t));
    if (const RuntimeKnob* rk = FindRuntimeKnob(k.name)) {
      w.Key("acted_on_by").String("runtime").Key("switches").String(rk->switches);
    } else {
      w.Key("acted_on_by").String("host");
    }
    w.EndObject();
  }
  w.EndArray();
  WriteGateAndFallbacks(w, *this);
  w.EndObject();
  return w.text();
}

}  // namespace kpolicy::runtime
