// DispatchTable: the decision bound to what runs. The knobs the runtime acts
// on are declared once, in RuntimeKnobs() (name, type, what it switches,
// which field of the table it sets); BuildDispatch reads exactly those,
// binds each GEMV knob to its row of the kernels' variant table
// (kernels/gemv_variants.h), and checks that this build and this GPU have
// every path the decision asks for: a knob naming a missing kernel or a path
// the GPU cannot run is a startup error, never a silent substitute. Knobs
// the runtime does not know pass through to the host in `host_knobs`.
//
// Thread-safety: value types and pure functions over static data.
#ifndef KPOLICY_RUNTIME_DISPATCH_H_
#define KPOLICY_RUNTIME_DISPATCH_H_

#include <array>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "kpolicy/decision.h"
#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"

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

// Every field is set by BuildDispatch from the policy's decision; the
// values here are only what an unbuilt table holds (a policy has no
// defaults outside its own file).
struct DispatchTable {
  bool gpu = false;          // false: the CPU reference path runs everything
  std::string q4k;           // GEMV variant names, as the variant table spells them
  std::string q6k;
  int mwv_warps = 0;
  bool fused_gate_up = false;
  bool batched_prefill = false;
  bool hgemm_decode = false;
  bool fp8_prefill = false;
  bool fp8_decode = false;
  bool w4a16_interleaved = false;
  std::string sm_target;
  // The variant-table row each GEMV knob names, by GemvOp (q4k, q6k).
  std::array<const kernels::GemvVariant*, std::size(kernels::kGemvOps)> gemv{};
  // Knobs of the policy that the runtime does not act on: name -> value as
  // text, for the host (the server) to read.
  std::map<std::string, std::string> host_knobs;

  const kernels::GemvVariant* gemv_kernel(kernels::GemvOp op) const { return gemv[static_cast<size_t>(op)]; }
  const std::string& gemv_name(kernels::GemvOp op) const { return op == kernels::GemvOp::kQ4K ? q4k : q6k; }
};

// A second spelling of a bool switch: an enum knob whose member `on` sets
// the switch and whose member `off` clears it. Default policy v2 spells the
// prefill switch prefill_path {serial, batched}, so that each way it is
// decided carries a reason; the seed (policies/compat/seed.yaml) spells it
// batched_prefill. Either is the same one switch.
struct EnumSpelling {
  std::string_view name;  // empty: the knob has one spelling only
  std::string_view on;
  std::string_view off;
};

// One knob the runtime acts on: its policy name, the type the runtime reads
// it as, what it switches, the DispatchTable field it sets (a string field
// for enum and string knobs, int for int, bool for bool), and, for a bool
// switch, the enum spelling a policy may use instead.
struct RuntimeKnob {
  std::string_view name;
  TypeKind type;
  std::string_view switches;
  std::variant<std::string DispatchTable::*, int DispatchTable::*, bool DispatchTable::*> field;
  EnumSpelling enum_spelling = {};
};

// The knobs the runtime acts on; a policy must decide all of them, each
// under exactly one of its spellings.
std::span<const RuntimeKnob> RuntimeKnobs();
// The runtime knob `name` spells (its name or its enum spelling), or null.
const RuntimeKnob* FindRuntimeKnob(std::string_view name);
// The knob of `policy` that decides `knob`, under whichever spelling the
// policy has (its own name first), or null where it has neither.
const Knob* FindPolicyKnob(const Policy& policy, const RuntimeKnob& knob);

// Binds `decision` to the kernels of `variants`. The error (kInvalidInput
// for a policy that leaves a knob undecided or types it otherwise,
// kUnsupported for a kernel or path this build or GPU lacks) names the knob,
// its value and what is missing.
Expected<DispatchTable> BuildDispatch(const Decision& decision, const Capabilities& capabilities,
                                      kernels::GemvVariantTable variants = kernels::BuiltinGemvVariants());

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_DISPATCH_H_
