#include "kpolicy/runtime/runtime.h"

#include <algorithm>

#include "kpolicy/contract_check.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/json.h"
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::runtime {
namespace {

// A GPU to decide for: the probe's, or the seed's fallback facts when
// there is no GPU at all (then nothing runs on a GPU).
struct FoundDevice {
  DeviceFacts facts;
  bool real = false;
  std::string why_not;  // when there is no GPU: the probe's error
};

std::vector<FoundDevice> FindDevices(const StartOptions& options) {
  if (options.device) return {{*options.device, options.device_is_real, ""}};
  auto probed = options.probe.list ? options.probe.list() : ProbeLocalDevices();
  if (probed.ok()) {
    std::vector<FoundDevice> found;
    for (DeviceFacts& facts : *probed) found.push_back({std::move(facts), options.probe.devices_are_real, ""});
    return found;
  }
  DeviceFacts d = DeviceFromComputeCapability(kFallbackCcMajor, kFallbackCcMinor, kFallbackNumSms, "no GPU");
  d.name = "no GPU";
  d.fallbacks.insert(d.fallbacks.begin(), "compute capability unreadable: assumed 7.0");
  return {{d, false, probed.error().message}};
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
    case KnobTrace::kEnv: {
      const std::string& why = k.env[t.index].why;
      return "environment override " + k.env[t.index].var + (why.empty() ? "" : ": " + why);
    }
    case KnobTrace::kRule: return k.rules[t.index].why;
    case KnobTrace::kDefault: {
      // A policy may say why its default holds (default v2's q4k: the
      // parity records); the reason then is the policy's own.
      const std::string tried = "no rule matched (" + std::to_string(t.rules_tried()) + " tried): the default";
      return k.default_why.empty() ? tried : tried + ": " + k.default_why;
    }
    case KnobTrace::kPinned: return t.pin_reason;
  }
  return "";
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// A knob the gate failed: the kernel gate's failures, and the model gate's
// (a budget overrun only where the policy makes gate failures fatal).
struct GateFailure {
  std::string knob, value, detail, what;
};

std::vector<GateFailure> Failures(const DeviceRuntime& gpu, bool fatal) {
  std::vector<GateFailure> out;
  for (const GateResult& g : gpu.gate) {
    if (!g.passed) out.push_back({g.knob, g.value, g.detail, g.ToString()});
  }
  if (!gpu.model_gate) return out;
  for (const ModelGateResult& r : gpu.model_gate->results) {
    const bool failed =
        r.status == ModelGateResult::kFailed || (fatal && r.status == ModelGateResult::kBudgetExceeded);
    if (failed) out.push_back({r.knob, r.value, std::string("model gate ") + r.StatusName(), r.ToString()});
  }
  return out;
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

// Where the records came from, and which: "evidence": {"source", "records"}.
void WriteEvidenceSource(JsonWriter& w, const Runtime& rt) {
  w.Key("evidence").BeginObject().Key("source").String(rt.evidence_source().Describe());
  w.Key("contracts").Int(rt.evidence() ? static_cast<int64_t>(rt.evidence()->contracts.size()) : 0);
  w.Key("records").BeginArray();
  if (rt.evidence()) {
    for (const ParityRecord& r : rt.evidence()->records) w.String(RecordScope(r));
  }
  w.EndArray().EndObject();
}

// The decision's warnings: a constraint's "refused: ...", an override ignored.
void WriteWarnings(JsonWriter& w, const Decision& d) {
  w.Key("warnings").BeginArray();
  for (const std::string& warning : d.warnings) w.String(warning);
  w.EndArray();
}

void WriteModel(JsonWriter& w, const ModelFacts& m) {
  if (m.empty()) return;
  w.Key("model").BeginObject().Key("architecture").String(m.architecture).Key("name").String(m.name);
  w.Key("quantisation").String(m.quantisation).Key("size").String(m.size).EndObject();
}

// Per rule asking for evidence whose condition held: what the records said
// (the record that proved it, or why it did not fire), as explain shows it.
void WriteKnobEvidence(JsonWriter& w, const Knob& k, const KnobTrace& t) {
  bool any = false;
  for (size_t i = 0; i < t.evidence.size(); ++i) {
    if (t.evidence[i].empty()) continue;
    if (!any) w.Key("evidence").BeginArray();
    any = true;
    w.BeginObject().Key("rule").String(k.rules[i].id).Key("records").String(t.evidence[i]).EndObject();
  }
  if (any) w.EndArray();
}

void WriteBound(JsonWriter& w, const GateBound& b) {
  w.Key("bound").BeginObject().Key("min_cosine").Double(b.min_cosine);
  w.Key("max_relative_l2").Double(b.max_relative_l2).Key("derivation").String(b.derivation).EndObject();
}

void WriteModelGate(JsonWriter& w, const ModelGateReport& m) {
  w.Key("model_gate").BeginObject().Key("file").String(m.path).Key("budget_ms").Int(m.budget_ms);
  w.Key("elapsed_ms").Double(m.elapsed_ms).Key("positions").Int(m.positions).Key("results").BeginArray();
  for (const ModelGateResult& r : m.results) {
    w.BeginObject().Key("knob").String(r.knob).Key("value").String(r.value).Key("runs_on").String(r.runs_on);
    w.Key("status").String(r.StatusName()).Key("matrices").Int(r.matrices).Key("positions").Int(r.positions);
    w.Key("min_cosine").Double(r.min_cosine).Key("min_cosine_bound").Double(kModelGateMinCosine);
    w.Key("argmax_agreement").Int(r.argmax_agreement).Key("first_divergence");
    if (r.first_divergence < 0) w.Null();
    else w.Int(r.first_divergence);
    w.Key("non_finite").Int(r.non_finite);
    if (!r.detail.empty()) w.Key("detail").String(r.detail);
    w.EndObject();
  }
  w.EndArray().EndObject();
}

void WriteGateAndFallbacks(JsonWriter& w, const DeviceRuntime& gpu) {
  w.Key("gate").BeginArray();
  for (const GateResult& g : gpu.gate) {
    w.BeginObject().Key("knob").String(g.knob).Key("value").String(g.value).Key("path").String(g.path);
    w.Key("passed").Bool(g.passed).Key("cosine").Double(g.cosine).Key("relative_l2").Double(g.relative_l2);
    w.Key("nonfinite").Int(g.nonfinite);
    WriteBound(w, g.bound);
    if (!g.detail.empty()) w.Key("detail").String(g.detail);
    w.EndObject();
  }
  w.EndArray();
  if (gpu.model_gate) WriteModelGate(w, *gpu.model_gate);
  w.Key("fallbacks").BeginArray();
  for (const std::string& f : gpu.fallbacks) w.String(f);
  w.EndArray();
}

void WriteHostKnobs(JsonWriter& w, const DispatchTable& t) {
  w.Key("host_knobs").BeginObject();
  for (const auto& [name, value] : t.host_knobs) w.Key(name).String(value);
  w.EndObject();
}

std::string LogLine(const Runtime& rt, const DeviceRuntime& gpu) {
  const Decision& d = gpu.decision;
  JsonWriter w;
  w.BeginObject().Key("event").String("kpolicy.startup");
  w.Key("ordinal").Int(gpu.ordinal).Key("devices").Int(static_cast<int64_t>(rt.devices().size()));
  WritePolicy(w, rt);
  WriteDevice(w, d.device);
  WriteModel(w, d.model);
  WriteEvidenceSource(w, rt);
  w.Key("kernels").String(gpu.dispatch.gpu ? "gpu" : "cpu: " + gpu.cpu_only_reason);
  w.Key("knobs").BeginObject();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
    const Knob& k = d.policy->knobs[i];
    w.Key(k.name).BeginObject().Key("value").String(d.ValueText(k));
    w.Key("source").String(SourceOf(k, d.knobs[i], d));
    WriteKnobEvidence(w, k, d.knobs[i]);
    w.EndObject();
  }
  w.EndObject();
  WriteWarnings(w, d);
  WriteHostKnobs(w, gpu.dispatch);
  WriteGateAndFallbacks(w, gpu);
  w.EndObject();
  return w.text();
}

// The effective configuration of one GPU: an element of EffectiveConfigJson's "devices".
void WriteEffectiveDevice(JsonWriter& w, const DeviceRuntime& gpu) {
  const Decision& d = gpu.decision;
  w.BeginObject().Key("ordinal").Int(gpu.ordinal);
  WriteDevice(w, d.device);
  w.Key("kernels").BeginObject().Key("gpu").Bool(gpu.dispatch.gpu);
  if (!gpu.dispatch.gpu) w.Key("cpu_only_reason").String(gpu.cpu_only_reason);
  w.EndObject();
  w.Key("knobs").BeginArray();
  for (size_t i = 0; i < d.policy->knobs.size(); ++i) {
    const Knob& k = d.policy->knobs[i];
    const KnobTrace& t = d.knobs[i];
    w.BeginObject().Key("name").String(k.name).Key("type").String(k.type.ToString());
    w.Key("value").String(d.ValueText(k)).Key("source").String(SourceOf(k, t, d));
    if (t.decided_by == KnobTrace::kRule) w.Key("rule").String(k.rules[t.index].id);
    w.Key("reason").String(ReasonOf(k, t));
    WriteKnobEvidence(w, k, t);
    if (const RuntimeKnob* rk = FindRuntimeKnob(k.name)) {
      w.Key("acted_on_by").String("runtime").Key("switches").String(rk->switches);
    } else {
      w.Key("acted_on_by").String("host");
    }
    w.EndObject();
  }
  w.EndArray();
  WriteWarnings(w, d);
  WriteHostKnobs(w, gpu.dispatch);
  WriteGateAndFallbacks(w, gpu);
  w.EndObject();
}

// What one GPU's start needs besides its device: the same for every GPU.
struct HostStart {
  const Policy& policy;
  const Environment& env;
  const ModelFacts& model;
  const RecordEvidence* oracle;  // the records rules asking for evidence read; may be null
  const GateRunner& gate;
  bool injected_gate;  // a test's gate runs even where no GPU kernels do
  const ModelGateOptions& model_gate;
};

// Decides for one GPU, binds the decision, gates it and falls back (at most
// two rounds); the error says what stopped this GPU.
Expected<DeviceRuntime> StartDevice(const HostStart& host, const FoundDevice& found, int ordinal) {
  const Policy& policy = host.policy;
  const DeviceFacts& device = found.facts;
  const Capabilities caps = CapabilitiesFor(device, found.real);
  DeviceRuntime gpu;
  gpu.ordinal = ordinal;
  gpu.cpu_only_reason = caps.gpu_kernels ? "" : found.why_not.empty() ? caps.why_no_gpu : found.why_not;
  // The gate's launches and the model gate's uploads go to this GPU.
  if (caps.gpu_kernels) KPOLICY_TRY(SelectLocalDevice(ordinal));
  // Nothing to gate on the CPU path (it is the reference) unless a test
  // injects a gate; the model gate runs wherever it is asked for.
  const bool kernel_gate = caps.gpu_kernels || host.injected_gate;
  const double model_budget_ms = static_cast<double>(host.model_gate.budget_ms);
  double model_spent_ms = 0;

  std::vector<Pin> pins;
  std::vector<std::string> first_round;  // what failed before the fallbacks, for the error if they fail too
  // At most two rounds: the decision as the policy makes it, then with the
  // knobs that failed pinned to their fallbacks. The second round's
  // failures stop startup (issue 15 #12: never report "fell back" to a
  // decision that failed too).
  for (int round = 0; round < 2; ++round) {
    auto decision = Evaluate(policy, device, host.model, host.env, pins, host.oracle);
    if (!decision.ok()) {
      return Fail(ErrorCode::kInvalidInput, "policy " + policy.name + ": " +
                                                decision.error().ToString());
    }
    gpu.decision = std::move(decision).value();
    auto table = BuildDispatch(gpu.decision, caps);
    if (!table.ok()) {
      Error e = std::move(table).error();
      e.message = "policy " + policy.name + " " + policy.version + " on " + device.name + ": " + e.message +
                  (round ? " (after the gate's fallbacks: " + Join(first_round) + ")" : "");
      return Fail(std::move(e));
    }
    gpu.dispatch = std::move(table).value();

    gpu.gate = kernel_gate ? host.gate(gpu.dispatch) : std::vector<GateResult>{};
    gpu.model_gate.reset();
    if (!host.model_gate.path.empty()) {
      ModelGateOptions o = host.model_gate;
      o.budget_ms = std::max<int64_t>(1, static_cast<int64_t>(model_budget_ms - model_spent_ms));
      auto report = RunModelGate(o, gpu.dispatch, caps.gpu_kernels);
      if (!report.ok()) return Fail(std::move(report).error());
      model_spent_ms += report->elapsed_ms;
      gpu.model_gate = std::move(report).value();
    }
    const std::vector<GateFailure> failed = Failures(gpu, policy.gate_failure_is_fatal);
    if (failed.empty()) break;
    if (round == 1) {
      std::vector<std::string> now;
      for (const GateFailure& f : failed) now.push_back(f.what);
      return Fail(ErrorCode::kCheckFailed, "parity gate: after falling back from " + Join(first_round) +
                                               ", the re-evaluated decision failed too: " + Join(now) +
                                               "; stopping: no kernel that failed the gate is served");
    }
    for (const GateFailure& f : failed) {
      const Knob* knob = policy.FindKnob(f.knob);
      const bool own_fallback = knob && knob->fallback && FormatValue(knob->type, *knob->fallback) == f.value;
      if (policy.gate_failure_is_fatal || !knob || !knob->fallback || own_fallback) {
        const std::string why = policy.gate_failure_is_fatal ? "the policy says on_gate_failure: fatal"
                                : own_fallback              ? "it is its knob's fallback already"
                                                            : "knob " + f.knob + " declares no fallback";
        return Fail(ErrorCode::kCheckFailed, "parity gate: " + f.what + "; stopping: " + why);
      }
      if (std::any_of(pins.begin(), pins.end(), [&](const Pin& p) { return p.knob == f.knob; })) continue;
      const std::string reason = "parity gate: " + f.knob + " = " + f.value + " failed (" + f.detail + "); fell back to " +
                                 FormatValue(knob->type, *knob->fallback);
      pins.push_back({f.knob, *knob->fallback, reason});
      gpu.fallbacks.push_back(f.knob + ": " + reason);
      first_round.push_back(f.what);
    }
  }
  return gpu;
}

}  // namespace

Expected<std::unique_ptr<Runtime>> Runtime::Start(const StartOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime());
  const Environment env = options.environment ? *options.environment : Environment::FromProcess();

  auto resolved = ResolvePolicy({options.policy_path, options.system_policy_path}, env);
  if (!resolved.ok()) return Fail(std::move(resolved).error());
  rt->resolved_ = std::move(resolved).value();
  const Policy& policy = *rt->resolved_.policy;
  auto evidence = ResolveEvidence({options.contracts_path, options.system_contracts_path}, env, policy);
  if (!evidence.ok()) return Fail(std::move(evidence).error());
  rt->evidence_ = std::move(evidence).value();

  auto model_options = ModelGateOptionsFor(options.gate_model_path, options.gate_model_budget_ms, env);
  if (!model_options.ok()) return Fail(std::move(model_options).error());
  const GateRunner& gate = options.gate ? options.gate : GateRunner(RunParityGate);
  const HostStart host{policy,        env, options.model, rt->evidence_.oracle.get(), gate, static_cast<bool>(options.gate),
                       *model_options};

  const std::vector<FoundDevice> found = FindDevices(options);
  bool selected_a_gpu = false;
  for (size_t i = 0; i < found.size(); ++i) {
    auto gpu = StartDevice(host, found[i], static_cast<int>(i));
    if (!gpu.ok()) {
      Error e = std::move(gpu).error();
      // One GPU: the message as it always was; several: which one failed.
      if (found.size() > 1) e.message = "GPU " + std::to_string(i) + " (" + found[i].facts.name + "): " + e.message;
      if (selected_a_gpu || found[i].real) (void)SelectLocalDevice(0);
      return Fail(std::move(e));
    }
    selected_a_gpu |= gpu->dispatch.gpu;
    rt->devices_.push_back(std::move(gpu).value());
  }
  if (selected_a_gpu) KPOLICY_TRY(SelectLocalDevice(0));  // a process starts on GPU 0; leave it so
  for (DeviceRuntime& gpu : rt->devices_) gpu.log_line = LogLine(*rt, gpu);
  return rt;
}

std::string Runtime::EffectiveConfigJson(int indent) const {
  JsonWriter w(indent);
  w.BeginObject();
  WritePolicy(w, *this);
  WriteModel(w, devices_.front().decision.model);
  WriteEvidenceSource(w, *this);
  w.Key("devices").BeginArray();
  for (const DeviceRuntime& gpu : devices_) WriteEffectiveDevice(w, gpu);
  w.EndArray();
  w.EndObject();
  return w.text();
}

}  // namespace kpolicy::runtime
