#include "kpolicy/runtime/runtime.h"

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
  return {d, false, probed.error()};
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

std::string LogLine(const Runtime& rt, const std::vector<std::string>& fallbacks) {
  const Decision& d = rt.decision();
  JsonWriter w;
  w.BeginObject().Key("event").String("kpolicy.startup");
  w.Key("policy").BeginObject().Key("name").String(rt.policy().name).Key("version").String(rt.policy().version);
  w.Key("file").String(rt.policy().file).Key("source").String(rt.source().Describe()).EndObject();
  w.Key("device").BeginObject().Key("name").String(d.device.name);
  w.Key("cc").String(std::to_string(d.device.cc_major) + "." + std::to_string(d.device.cc_minor));
  w.Key("num_sms").Int(d.device.num_sms).Key("source").String(d.device.source);
  if (!d.device.driver_version.empty()) w.Key("driver").String(d.device.driver_version);
  if (!d.device.runtime_version.empty()) w.Key("cuda_runtime").String(d.device.runtime_version);
  w.Key("fallbacks").BeginArray();
  for (const std::string& f : d.device.fallbacks) w.String(f);
  w.EndArray().EndObject();
  w.Key("kernels").String(rt.dispatch().gpu ? "gpu" : "cpu: " + rt.cpu_only_reason());
  w.Key("knobs").BeginObject();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
    const Knob& k = d.policy->knobs[i];
    w.Key(k.name).BeginObject().Key("value").String(d.ValueText(k));
    w.Key("source").String(SourceOf(k, d.knobs[i], d)).EndObject();
  }
  w.EndObject();
  w.Key("gate").BeginArray();
  for (const GateResult& g : rt.gate_results()) {
    w.BeginObject().Key("knob").String(g.knob).Key("variant").String(g.variant).Key("passed").Bool(g.passed);
    w.Key("error_vs_cpu").Double(g.error_vs_cpu).Key("cosine_vs_reference").Double(g.cosine_vs_reference);
    if (!g.detail.empty()) w.Key("detail").String(g.detail);
    w.EndObject();
  }
  w.EndArray().Key("fallbacks").BeginArray();
  for (const std::string& f : fallbacks) w.String(f);
  w.EndArray().EndObject();
  return w.text();
}

}  // namespace

Expected<std::unique_ptr<Runtime>, StartupError> Runtime::Start(const StartOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime());
  const Environment env = options.environment ? *options.environment : Environment::FromProcess();

  auto resolved = ResolvePolicy({options.policy_path, options.system_policy_path}, env);
  if (!resolved.ok()) return Fail(StartupError{resolved.error().message});
  rt->resolved_ = std::move(resolved).value();
  const Policy& policy = *rt->resolved_.policy;

  const FoundDevice found = FindDevice(options);
  const DeviceFacts& device = found.facts;
  const Capabilities caps = CapabilitiesFor(device, found.real);
  rt->cpu_only_reason_ = caps.gpu_kernels ? "" : found.why_not.empty() ? caps.why_no_gpu : found.why_not;

  std::vector<Pin> pins;
  std::vector<std::string> fallbacks;
  // At most two rounds: the decision as the policy makes it, then with the
  // knobs that failed the gate pinned to their fallbacks.
  for (int round = 0; round < 2; ++round) {
    auto decision = Evaluate(policy, device, env, pins);
    if (!decision.ok()) return Fail(StartupError{"policy " + policy.name + ": " + decision.error().ToString()});
    rt->decision_ = std::move(decision).value();
    auto table = BuildDispatch(rt->decision_, caps);
    if (!table.ok()) {
      return Fail(StartupError{"policy " + policy.name + " " + policy.version + " on " + device.name + ": " +
                               table.error()});
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
        return Fail(StartupError{"parity gate: " + g.ToString() + "; stopping: " + why});
      }
      const std::string reason = "parity gate: " + g.variant + " failed (" + g.detail + "); fell back to " +
                                 FormatValue(knob->type, *knob->fallback);
      failed.push_back({g.knob, *knob->fallback, reason});
      fallbacks.push_back(g.knob + ": " + reason);
    }
    if (failed.empty()) break;
    pins.insert(pins.end(), failed.begin(), failed.end());
  }
  rt->log_line_ = LogLine(*rt, fallbacks);
  return rt;
}

}  // namespace kpolicy::runtime
