// kpolicy's runtime: what an inference server calls once at startup.
//
//   auto rt = kpolicy::runtime::Runtime::Start();   // or Start(options)
//   if (!rt.ok()) { log(rt.error().ToString()); exit(1); }   // fail closed
//   for (const auto& gpu : (*rt)->devices()) {       // every local GPU, by ordinal
//     log(gpu.log_line);                             // one JSON line each
//     bind(gpu.ordinal, gpu.dispatch);               // gpu.dispatch.q4k == "Mwv", ...
//   }
//   serve_status((*rt)->EffectiveConfigJson());      // every knob, why, the gate; per GPU
//
// A host with one GPU may read GPU 0's answer directly: (*rt)->dispatch(),
// (*rt)->log_line(). runtime/README.md is the integration guide.
//
// Start resolves the policy (explicit path, KPOLICY_FILE,
// /etc/kpolicy/policy.yaml, else the compiled-in default: see
// policy_source.h) and the parity records its rules asking for evidence read
// (explicit contracts folder, KPOLICY_CONTRACTS, /etc/kpolicy/contracts,
// else none: see evidence_source.h), probes every local GPU (device_probe.h;
// a host may mix GPUs, so each is decided on its own), and for each GPU
// evaluates the policy against its facts, the model being served and the
// environment (a rule with `evidence:` fires only where those records prove
// its contracts, as `policyctl explain --contracts DIR` shows; the log line
// cites the record), binds the decision to kernels (dispatch.h) and runs the
// load-time parity gate (parity_gate.h) on that GPU: every kernel and GEMM
// path the decision turns on (q4k, q6k, fused_gate_up, the FP16 prefill
// GEMM, fp8_prefill, fp8_decode, hgemm_decode, w4a16_interleaved) on a
// probe, against the CPU fp64 reference within a bound derived from its
// arithmetic. A knob whose path fails is switched to the fallback value its
// policy declares (`fallback:`), which the decision's trace, explain and the
// log line show, and the re-evaluated decision is gated again; a failure in
// that second round stops startup with an error naming both rounds' failures
// (the runtime never serves a kernel that failed). A policy with
// `on_gate_failure: fatal`, or a knob without a fallback, stops startup at
// the first failure. Any GPU that cannot start stops startup for the host,
// the error naming that GPU's ordinal: a server never runs on some of its
// GPUs with a guess for others. Without a usable GPU the runtime decides for
// the seed's fallback facts, runs the CPU path and says so (devices() then
// holds that one entry).
//
// On request (StartOptions::gate_model_path or KPOLICY_GATE_MODEL=FILE.gguf;
// budget StartOptions::gate_model_budget_ms or KPOLICY_GATE_MODEL_BUDGET_MS,
// default 20000) the gate also runs the model-level measurement of the
// dispatched q4k / q6k kernels on that model (model_gate.h), on each GPU
// with a budget of its own: teacher-forced positions, min cosine, argmax
// agreement, first divergence and elapsed ms in the log line; a failure
// falls back or stops like a kernel failure; a budget too small for the
// minimum positions stops startup under `on_gate_failure: fatal` and is
// reported as "budget exceeded" otherwise. Without GPU kernels it measures
// the rows' CPU emulation instead.
//
// Cost: milliseconds per GPU (policy load ~1 ms once, probe, gate: one or two
// small launches per gated path and their fp64 references), plus the model
// gate's budget per GPU when one is asked for. Thread-safety: Start is not
// reentrant, gates each GPU by making it the calling thread's current device
// and leaves GPU 0 current; a started Runtime is immutable and may be read
// from any thread.
#ifndef KPOLICY_RUNTIME_RUNTIME_H_
#define KPOLICY_RUNTIME_RUNTIME_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/runtime/device_probe.h"
#include "kpolicy/runtime/dispatch.h"
#include "kpolicy/runtime/evidence_source.h"
#include "kpolicy/runtime/model_gate.h"
#include "kpolicy/runtime/parity_gate.h"
#include "kpolicy/runtime/policy_source.h"

namespace kpolicy::runtime {

struct StartOptions {
  std::string policy_path;                  // explicit policy (first in the resolution order)
  std::optional<Environment> environment;   // default: this process's
  // The host's GPUs: default, every local GPU through the CUDA runtime; a
  // test gives DeviceProbe::Fixed({h100, l4}) for a mixed host it lacks.
  DeviceProbe probe;
  // Set: the host is this one device instead (a catalog GPU, or a fake one
  // in tests; the probe is not asked); kernels run only if `device_is_real`.
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
  // else none) and its budget in ms per GPU (<= 0: KPOLICY_GATE_MODEL_BUDGET_MS,
  // else 20000).
  std::string gate_model_path;
  int64_t gate_model_budget_ms = 0;
};

// What the runtime decided for one GPU of the host and what runs there.
// Kernels of `dispatch` run on CUDA device `ordinal`: a host makes it
// current (cudaSetDevice) before launching them.
struct DeviceRuntime {
  int ordinal = 0;                 // the CUDA ordinal; devices()[i].ordinal == i
  Decision decision;               // decision.device: the facts decided for
  DispatchTable dispatch;
  std::vector<GateResult> gate;    // the kernel gate's results (empty: nothing gated)
  std::optional<ModelGateReport> model_gate;  // when one was asked for
  std::string cpu_only_reason;     // why no GPU kernels run here (empty when they do)
  std::vector<std::string> fallbacks;  // the gate's fallbacks, "knob: reason"
  // One line of JSON, event kpolicy.startup: the ordinal and how many GPUs
  // the host has, the policy's name, version, file, source and sha256, the
  // device, the model, where the records came from, every knob's value and
  // what decided it (with what the records said for each rule asking for
  // evidence), the decision's warnings ("refused: ..."), the gate's results
  // and any fallback.
  std::string log_line;
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
  // budget was exceeded under on_gate_failure: fatal). On a host with
  // several GPUs the message starts "GPU N (NAME): ", the GPU that failed.
  static Expected<std::unique_ptr<Runtime>> Start(const StartOptions& options = {});

  const Policy& policy() const { return *resolved_.policy; }
  const PolicySource& source() const { return resolved_.source; }
  const std::string& policy_sha256() const { return resolved_.sha256; }
  // Where the records came from (kNone: no rule asking for evidence fired).
  const EvidenceSource& evidence_source() const { return evidence_.source; }
  // The contracts and records loaded; null when there are none.
  const EvidenceSet* evidence() const { return evidence_.set.get(); }

  // Every GPU of the host, by ordinal (at least one entry: without a GPU,
  // the fallback device the CPU path was decided for).
  const std::vector<DeviceRuntime>& devices() const { return devices_; }
  // GPU `ordinal`'s; precondition: 0 <= ordinal < devices().size().
  const DeviceRuntime& device(int ordinal) const { return devices_.at(static_cast<size_t>(ordinal)); }

  // GPU 0's, for a host that runs on one GPU (devices() has every GPU's).
  const Decision& decision() const { return devices_.front().decision; }
  const DispatchTable& dispatch() const { return devices_.front().dispatch; }
  const std::vector<GateResult>& gate_results() const { return devices_.front().gate; }
  const std::optional<ModelGateReport>& model_gate() const { return devices_.front().model_gate; }
  const std::string& cpu_only_reason() const { return devices_.front().cpu_only_reason; }
  const std::vector<std::string>& fallbacks() const { return devices_.front().fallbacks; }
  const std::string& log_line() const { return devices_.front().log_line; }

  // The effective configuration as one JSON object (pretty-printed when
  // indent > 0), for a status endpoint:
  //   {"policy": {name, version, file, source, sha256}, "model", "evidence",
  //    "devices": [{"ordinal", "device", "kernels": {"gpu", "cpu_only_reason"},
  //                 "knobs": [{name, type, value, source, rule, reason,
  //                            evidence, acted_on_by, switches}],
  //                 "warnings", "host_knobs", "gate", "model_gate", "fallbacks"}, ...]}
  // one entry per GPU in ordinal order. A knob's source says what decided it
  // (env, rule, default or gate fallback), its reason why (the rule's why,
  // the override's variable, the fallback's cause), evidence what the
  // records said for its rules asking for evidence, acted_on_by whether the
  // runtime acts on it or passes it to the host. Without a GPU the one entry
  // is the fallback device with kernels.gpu false and the reason: the
  // decision a CPU-side start made. Cost: microseconds per GPU.
  std::string EffectiveConfigJson(int indent = 0) const;

 private:
  Runtime() = default;

  ResolvedPolicy resolved_;
  ResolvedEvidence evidence_;
  std::vector<DeviceRuntime> devices_;
};

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_RUNTIME_H_
