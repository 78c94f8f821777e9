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
// policy_source.h) and the parity records its rules asking for evidence read
// (explicit contracts folder, KPOLICY_CONTRACTS, /etc/kpolicy/contracts,
// else none: see evidence_source.h), probes GPU 0, evaluates the policy
// against the device, the model being served and the environment (a rule
// with `evidence:` fires only where those records prove its contracts, as
// `policyctl explain --contracts DIR` shows; the log line cites the record),
// binds the decision to kernels (dispatch.h) and runs
// the load-time parity gate (parity_gate.h): every kernel and GEMM path the
// decision turns on (q4k, q6k, fused_gate_up, the FP16 prefill GEMM,
// fp8_prefill, fp8_decode, hgemm_decode, w4a16_interleaved) on a probe,
// against the CPU fp64 reference within a bound derived from its
// arithmetic. A knob whose path fails is switched to the fallback value its
// policy declares (`fallback:`), which the decision's trace, explain and the
// log line show, and the re-evaluated decision is gated again; a failure in
// that second round stops startup with an error naming both rounds' failures
// (the runtime never serves a kernel that failed). A policy with
// `on_gate_failure: fatal`, or a knob without a fallback, stops startup at
// the first failure. Without a usable GPU the runtime runs the CPU path and
// says so.
//
// On request (StartOptions::gate_model_path or KPOLICY_GATE_MODEL=FILE.gguf;
// budget StartOptions::gate_model_budget_ms or KPOLICY_GATE_MODEL_BUDGET_MS,
// default 20000) the gate also runs the model-level measurement of the
// dispatched q4k / q6k kernels on that model (model_gate.h): teacher-forced
// positions, min cosine, argmax agreement, first divergence and elapsed ms
// in the log line; a failure falls back or stops like a kernel failure; a
// budget too small for the minimum positions stops startup under
// `on_gate_failure: fatal` and is reported as "budget exceeded" otherwise.
// Without GPU kernels it measures the rows' CPU emulation instead.
//
// Cost: milliseconds (policy load ~1 ms, probe, gate: one or two small
// launches per gated path and their fp64 references), plus the model gate's
// budget when one is asked for. Thread-safety: Start is not reentrant; a
// started Runtime is immutable and may be read from any thread.
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
#include "kpolicy/runtime/evidence_source.h"
#include "kpolicy/runtime/model_gate.h"
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
  // The contracts folder (contract files; parity records in its parity/)
  // whose records rules asking for evidence read. Empty: KPOLICY_CONTRACTS,
  // else system_contracts_path if it exists, else none (evidence_source.h).
  std::string contracts_path;
  std::string system_contracts_path = kSystemContractsPath;
  // The model being served, as `model.*` facts: a record measured on one
  // model speaks only for that model. Empty: unknown, and such records
  // prove nothing.
  ModelFacts model;
  GateRunner gate;                          // default: RunParityGate where GPU kernels run
  // The model-level gate (model_gate.h): a GGUF file (empty: KPOLICY_GATE_MODEL,
  // else none) and its budget in ms (<= 0: KPOLICY_GATE_MODEL_BUDGET_MS, else 20000).
  std::string gate_model_path;
  int64_t gate_model_budget_ms = 0;
};

class Runtime {
 public:
  // The error says what stopped startup, with the policy's diagnostics
  // where there are: kInvalidInput (the policy does not load, leaves a knob
  // the runtime needs undecided, or mistypes it; a contract or record of the
  // configured contracts folder does not load, FILE:LINE:COL; a rule asks
  // for a contract the folder lacks), kUnreadable (a configured contracts
  // folder, or its parity/, is missing), kUnsupported (a kernel or
  // path this build or GPU lacks), kCheckFailed (the parity gate failed
  // with no fallback left, or a fallback failed it too; or the model gate's
  // budget was exceeded under on_gate_failure: fatal).
  static Expected<std::unique_ptr<Runtime>> Start(const StartOptions& options = {});

  const Policy& policy() const { return *resolved_.policy; }
  const PolicySource& source() const { return resolved_.source; }
  const std::string& policy_sha256() const { return resolved_.sha256; }
  // Where the records came from (kNone: no rule asking for evidence fired).
  const EvidenceSource& evidence_source() const { return evidence_.source; }
  // The contracts and records loaded; null when there are none.
  const EvidenceSet* evidence() const { return evidence_.set.get(); }
  const Decision& decision() const { return decision_; }
  const DispatchTable& dispatch() const { return dispatch_; }
  const std::vector<GateResult>& gate_results() const { return gate_; }
  // The model gate's report, when one was asked for.
  const std::optional<ModelGateReport>& model_gate() const { return model_gate_; }
  // Why the runtime runs without GPU kernels (empty when it has them).
  const std::string& cpu_only_reason() const { return cpu_only_reason_; }
  // One line of JSON: policy name, version, file and source, device, model,
  // where the records came from, every knob's value and what decided it
  // (with what the records said for each rule asking for evidence), the
  // decision's warnings ("refused: ..."), the gate's results and any fallback.
  const std::string& log_line() const { return log_line_; }
  // The effective configuration as one JSON object (pretty-printed when
  // indent > 0): the policy's name, version, file, source and sha256; the
  // device, the model and where the records came from; every knob with its
  // value, what decided it (env, rule, default or gate fallback), the reason
  // (the rule's why, the override's variable, the fallback's cause), what the
  // records said for its rules asking for evidence, and whether the runtime
  // acts on it or passes it to the host; the warnings, the gate's results and
  // the fallbacks taken. Cost: microseconds.
  std::string EffectiveConfigJson(int indent = 0) const;
  // The fallbacks the gate took, "knob: reason".
  const std::vector<std::string>& fallbacks() const { return fallbacks_; }

 private:
  Runtime() = default;

  ResolvedPolicy resolved_;
  ResolvedEvidence evidence_;
  Decision decision_;
  DispatchTable dispatch_;
  std::vector<GateResult> gate_;
  std::optional<ModelGateReport> model_gate_;
  std::string cpu_only_reason_;
  std::vector<std::string> fallbacks_;
  std::string log_line_;
};

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_RUNTIME_H_
