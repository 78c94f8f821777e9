// kpolicy's runtime: what an inference server calls once at startup.
//
//   auto rt = kpolicy::runtime::Runtime::Start();   // or Start(options)
//   if (!rt.ok()) { log(rt.error().ToString()); exit(1); }   // fail closed
//   log((*rt)->log_line());                          // one JSON line
//   const auto& d = (*rt)->dispatch();                // d.q4k == "HwDp4a", ...
//   serve_status((*rt)->EffectiveConfigJson());      // every knob, why, the gate
//
// runtime/README.md is the integration guide.
//
// Start resolves the policy (explicit path, KPOLICY_FILE,
// /etc/kpolicy/policy.yaml, else the compiled-in default: see
// policy_source.h), probes GPU 0, evaluates the policy against the device
// and the environment, binds the decision to kernels (dispatch.h) and runs
// the load-time parity gate (parity_gate.h). A knob whose kernel fails the
// gate is switched to the fallback value its policy declares (`fallback:`),
// which the decision's trace, explain and the log line show; a policy with
// `on_gate_failure: fatal`, or a knob without a fallback, stops startup.
// Without a usable GPU the runtime runs the CPU path and says so.
//
// Cost: milliseconds (policy load ~1 ms, probe, gate: two small launches and
// their CPU references). Thread-safety: Start is not reentrant; a started
// Runtime is immutable and may be read from any thread.
#ifndef KPOLICY_RUNTIME_RUNTIME_H_
#define KPOLICY_RUNTIME_RUNTIME_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/runtime/dispatch.h"
#include "kpolicy/runtime/parity_gate.h"
#include "kpolicy/runtime/policy_source.h"

namespace kpolicy::runtime {

struct StartOptions {
  std::string policy_path;                  // explicit policy (first in the resolution order)
  std::optional<Environment> environment;   // default: this process's
  // Default: probe GPU 0. Set: decide for this device (a fake device in
  // tests, or a catalog GPU); kernels run only if `device_is_real`.
  std::optional<DeviceFacts> device;
  bool device_is_real = false;
  std::string system_policy_path = kSystemPolicyPath;
  GateRunner gate;                          // default: RunParityGate where GPU kernels run
};

class Runtime {
 public:
  // The error says what stopped startup, with the policy's diagnostics
  // where there are: kInvalidInput (the policy does not load, leaves a knob
  // the runtime needs undecided, or mistypes it), kUnsupported (a kernel or
  // path this build or GPU lacks), kCheckFailed (the parity gate failed
  // with no fallback left).
  static Expected<std::unique_ptr<Runtime>> Start(const StartOptions& options = {});

  const Policy& policy() const { return *resolved_.policy; }
  const PolicySource& source() const { return resolved_.source; }
  const std::string& policy_sha256() const { return resolved_.sha256; }
  const Decision& decision() const { return decision_; }
  const DispatchTable& dispatch() const { return dispatch_; }
  const std::vector<GateResult>& gate_results() const { return gate_; }
  // Why the runtime runs without GPU kernels (empty when it has them).
  const std::string& cpu_only_reason() const { return cpu_only_reason_; }
  // One line of JSON: policy name, version, file and source, device, every
  // knob's value and what decided it, the gate's results and any fallback.
  const std::string& log_line() const { return log_line_; }
  // The effective configuration as one JSON object (pretty-printed when
  // indent > 0): the policy's name, version, file, source and sha256; the
  // device; every knob with its value, what decided it (env, rule, default
  // or gate fallback), the reason (the rule's why, the override's variable,
  // the fallback's cause) and whether the runtime acts on it or passes it to
  // the host; the gate's results and the fallbacks taken. Cost: microseconds.
  std::string EffectiveConfigJson(int indent = 0) const;
  // The fallbacks the gate took, "knob: reason".
  const std::vector<std::string>& fallbacks() const { return fallbacks_; }

 private:
  Runtime() = default;

  ResolvedPolicy resolved_;
  Decision decision_;
  DispatchTable dispatch_;
  std::vector<GateResult> gate_;
  std::string cpu_only_reason_;
  std::vector<std::string> fallbacks_;
  std::string log_line_;
};

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_RUNTIME_H_
