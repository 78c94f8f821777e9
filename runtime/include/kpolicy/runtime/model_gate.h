// The model-level startup gate: on a real GGUF model the host names
// (StartOptions::gate_model_path or KPOLICY_GATE_MODEL=FILE.gguf), each
// dispatched GEMV kernel (q4k, q6k) runs every matrix of its format while
// the rest of the model stays at the CPU fp64 reference, teacher-forced on
// the reference's own greedy continuation (model/model_parity.h), and the
// logits are compared position by position with the fp64 reference's:
// FALSIFY-CPU-GPU-008's measurement, at startup. The kernel-level gate
// (parity_gate.h) cannot see this: issue 11's HwDp4a passed synthetic probes
// and diverged at position 1 of a real model.
//
// Where it runs: with GPU kernels, the dispatched kernels on the device
// (runtime/model_matvec.h's DeviceMatVec); without (no GPU, no CUDA) the CPU
// emulation of each dispatched row's arithmetic (its `emulate` column,
// through model/variant_matvec.h), so that the gate and its figures exist
// in CI too, and the log line says which.
//
// Pass: every position's logits finite, min cosine >= 0.99 and the argmax
// agreeing at every position: contracts/cpu-gpu-parity.yaml's
// FALSIFY-CPU-GPU-008 thresholds, mirrored. A kernel whose format the model
// does not store (Gemma 3 Q4_K_M stores both; SmolLM2 Q4_1 neither) is
// reported "not measured", never passed.
//
// Time budget (budget_ms, KPOLICY_GATE_MODEL_BUDGET_MS, default 20 s),
// covering loading the model too. The gate first measures min_positions
// (8) and times that; then, if the rest of the budget covers more, it
// measures again with as many positions as fit (at most max_positions, 32),
// assuming a cost linear in positions with 50% headroom; the larger run's
// figures are reported (an estimate that proves short shows as elapsed_ms
// over budget_ms and a detail line, not as a failure: the minimum fitted).
// Positions are reduced to fit, never skipped: when loading and the minimum
// run together overran the budget the figures are still reported, with
// status "budget exceeded" (unless they already show a failure, which is
// reported as one). What a budget overrun does is the policy's
// on_gate_failure: `fatal` stops startup; otherwise startup goes on and the
// log line says "budget exceeded" (there is no evidence against the kernel
// to fall back on, only too little evidence for it). Measured without a GPU
// on 2 cores (tests/runtime/model_gate_real_test, Gemma 3 270M Q4_K_M, CPU
// emulation of HwDp4a for both formats): all 32 positions in 14.8 s when the
// cores are idle, 26 positions when other work shares them.
//
// Thread-safety: RunModelGate uses the current CUDA device when it runs
// kernels; call it from one thread. Cost: loading the model (its file and
// 4 bytes per weight for the reference), then per run one greedy reference
// decode and one teacher-forced pass per knob plus the reference's.
#ifndef KPOLICY_RUNTIME_MODEL_GATE_H_
#define KPOLICY_RUNTIME_MODEL_GATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kpolicy/environment.h"
#include "kpolicy/expected.h"
#include "kpolicy/runtime/dispatch.h"

namespace kpolicy::runtime {

inline constexpr int64_t kDefaultModelGateBudgetMs = 20000;
// FALSIFY-CPU-GPU-008 (contracts/cpu-gpu-parity.yaml).
inline constexpr double kModelGateMinCosine = 0.99;

struct ModelGateOptions {
  std::string path;  // the GGUF model; empty: no model gate
  int64_t budget_ms = kDefaultModelGateBudgetMs;
  int64_t min_positions = 8;
  int64_t max_positions = 32;
  int threads = 0;  // CPU threads for the reference and the emulation; <= 0: all cores
};

// The options a start asks for: `path` and `budget_ms` from StartOptions
// when set there, else KPOLICY_GATE_MODEL and KPOLICY_GATE_MODEL_BUDGET_MS
// from `env`. Errors (kInvalidInput): a budget that is not a positive
// integer number of milliseconds, naming the variable.
Expected<ModelGateOptions> ModelGateOptionsFor(const std::string& path, int64_t budget_ms, const Environment& env);

struct ModelGateResult {
  enum Status { kPassed, kFailed, kBudgetExceeded, kNotMeasured };
  std::string knob;     // "q4k", "q6k"
  std::string value;    // the variant
  std::string runs_on;  // "gpu" or "cpu emulation"
  Status status = kNotMeasured;
  int64_t matrices = 0;  // matrices of the model that ran through the kernel
  int64_t positions = 0;
  double min_cosine = 0;
  int64_t min_cosine_position = -1;
  int64_t argmax_agreement = 0;   // out of positions
  int64_t first_divergence = -1;  // -1: none
  int64_t non_finite = 0;
  std::string detail;

  bool passed() const { return status == kPassed; }
  // "passed", "FAILED", "budget exceeded", "not measured".
  const char* StatusName() const;
  std::string ToString() const;
};

struct ModelGateReport {
  std::string path;
  int64_t budget_ms = 0;
  double elapsed_ms = 0;   // the whole gate: loading and every run
  int64_t positions = 0;   // of the reported run
  std::vector<ModelGateResult> results;  // q4k, q6k
};

// Measures `table`'s q4k and q6k kernels on the model. gpu: run the kernels
// (a CUDA build on a device), else the rows' CPU emulation. Errors: the
// model does not load (its error, naming the file), a pass fails to run.
Expected<ModelGateReport> RunModelGate(const ModelGateOptions& options, const DispatchTable& table, bool gpu);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_MODEL_GATE_H_
