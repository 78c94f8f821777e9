// DispatchTable: the decision bound to what runs. Each operation names the
// kernel of the chosen variant; the switches say which prefill and decode
// paths are on. Building it checks that this build and this GPU have every
// path the decision asks for: a knob naming a missing kernel or a path the
// GPU cannot run is a startup error, never a silent substitute.
//
// Thread-safety: value type.
#ifndef KPOLICY_RUNTIME_DISPATCH_H_
#define KPOLICY_RUNTIME_DISPATCH_H_

#include <string>

#include "kpolicy/decision.h"
#include "kpolicy/expected.h"

namespace kpolicy::runtime {

// What this build and the device can run.
struct Capabilities {
  bool gpu_kernels = false;  // a CUDA build on a device it has kernels for
  int cc = 0;                // the device's compute capability, major*10+minor
  std::string why_no_gpu;    // when !gpu_kernels: why ("no CUDA device", ...)
};

// Capabilities of this build for `device` (from the probe, or a fake one in
// tests: then gpu_kernels says whether to pretend kernels exist).
Capabilities CapabilitiesFor(const DeviceFacts& device, bool device_is_real);

struct DispatchTable {
  bool gpu = false;          // false: the CPU reference path runs everything
  std::string q4k;           // GEMV variant names, as the kernels' registry has them
  std::string q6k;
  int mwv_warps = 3;
  bool fused_gate_up = false;
  bool batched_prefill = true;
  bool hgemm_decode = false;
  bool fp8_prefill = false;
  bool fp8_decode = false;
  bool w4a16_interleaved = false;
  std::string sm_target;
};

// The knobs the runtime reads; a policy must decide all of them.
const std::vector<std::string>& RuntimeKnobs();

// Binds `decision` to kernels. The error names the knob, its value and what
// is missing.
Expected<DispatchTable, std::string> BuildDispatch(const Decision& decision, const Capabilities& capabilities);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_DISPATCH_H_
