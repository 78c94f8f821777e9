#include "kpolicy/runtime/dispatch.h"

#include "kpolicy/runtime/device_probe.h"
#include "kpolicy/runtime/kernel_catalog.h"

namespace kpolicy::runtime {

Capabilities CapabilitiesFor(const DeviceFacts& device, bool device_is_real) {
  Capabilities c;
  c.cc = device.cc();
  if (!BuildHasCuda()) {
    c.why_no_gpu = "this build has no CUDA support";
  } else if (!device_is_real) {
    c.why_no_gpu = "no GPU: decisions for " + device.name + " run on the CPU";
  } else if (c.cc < kLowestKernelCc) {
    c.why_no_gpu = "this build has no kernels for sm_" + std::to_string(device.cc_major) +
                   std::to_string(device.cc_minor) + " (CUDA 13 builds for sm_75 and newer)";
  } else {
    c.gpu_kernels = true;
  }
  return c;
}

const std::vector<std::string>& RuntimeKnobs() {
  static const std::vector<std::string> kKnobs = {
      "q4k", "q6k", "mwv_warps", "batched_prefill", "hgemm_decode", "fused_gate_up",
      "fp8_prefill", "fp8_decode", "w4a16_interleaved", "sm_target"};
  return kKnobs;
}

namespace {

// Reads the knobs the runtime needs, collecting every problem.
struct Reader {
  const Decision& d;
  std::vector<std::string> missing;
  std::vector<std::string> mistyped;

  const Knob* Find(const std::string& name, TypeKind kind) {
    const Knob* k = d.policy->FindKnob(name);
    if (!k) {
      missing.push_back("'" + name + "'");
    } else if (k->type.kind != kind) {
      mistyped.push_back("knob '" + name + "' is " + k->type.ToString() + "; the runtime reads it as " +
                         (kind == TypeKind::kBool ? "bool" : kind == TypeKind::kInt ? "int"
                          : kind == TypeKind::kEnum ? "an enum" : "string"));
      k = nullptr;
    }
    return k;
  }
  std::string Text(const std::string& name, TypeKind kind) {
    const Knob* k = Find(name, kind);
    return k ? d.ValueText(*k) : "";
  }
  bool Bool(const std::string& name) {
    const Knob* k = Find(name, TypeKind::kBool);
    return k && d.value(*k).number != 0;
  }
  std::string Error() const {
    std::string out;
    if (!missing.empty()) {
      out = "policy " + d.policy->name + " does not decide ";
      for (size_t i = 0; i < missing.size(); ++i) out += (i ? ", " : "") + missing[i];
      out += ", which the runtime needs";
    }
    for (const std::string& m : mistyped) out += (out.empty() ? "" : "; ") + m;
    return out;
  }
};

}  // namespace

Expected<DispatchTable, std::string> BuildDispatch(const Decision& decision, const Capabilities& caps) {
  Reader r{decision, {}, {}};
  DispatchTable t;
  t.gpu = caps.gpu_kernels;
  t.q4k = r.Text("q4k", TypeKind::kEnum);
  t.q6k = r.Text("q6k", TypeKind::kEnum);
  if (const Knob* k = r.Find("mwv_warps", TypeKind::kInt)) t.mwv_warps = static_cast<int>(decision.value(*k).number);
  t.fused_gate_up = r.Bool("fused_gate_up");
  t.batched_prefill = r.Bool("batched_prefill");
  t.hgemm_decode = r.Bool("hgemm_decode");
  t.fp8_prefill = r.Bool("fp8_prefill");
  t.fp8_decode = r.Bool("fp8_decode");
  t.w4a16_interleaved = r.Bool("w4a16_interleaved");
  t.sm_target = r.Text("sm_target", TypeKind::kString);
  if (std::string error = r.Error(); !error.empty()) return Fail(error);

  // Every named variant must be a kernel this build has, whatever the device.
  for (const auto& [op, variant] : {std::pair{"q4k", t.q4k}, std::pair{"q6k", t.q6k}}) {
    if (!HasGemvVariant(op, variant)) {
      return Fail(std::string(op) + " = " + variant + ": no such kernel variant (known: " + GemvVariantNames(op) + ")");
    }
  }
  if (t.mwv_warps < 1 || t.mwv_warps > 32) {
    return Fail("mwv_warps = " + std::to_string(t.mwv_warps) + ": the Mwv kernels take 1..32 warps");
  }
  if (t.fused_gate_up && t.q4k != "HwDp4a") {
    return Fail("fused_gate_up = true needs q4k = HwDp4a (the fused gate+up kernel is the HwDp4a path's), but q4k = " +
                t.q4k);
  }
  if (!caps.gpu_kernels) return t;  // the CPU path runs every knob's arithmetic as reference

  const auto needs_cc = [&](bool on, const char* knob, int cc, const char* what) -> std::optional<std::string> {
    if (on && caps.cc < cc) {
      return std::string(knob) + " = true needs " + what + " (compute capability " + std::to_string(cc / 10) + "." +
             std::to_string(cc % 10) + "+); this GPU is " + std::to_string(caps.cc / 10) + "." +
             std::to_string(caps.cc % 10);
    }
    return std::nullopt;
  };
  for (auto check : {needs_cc(t.fp8_prefill, "fp8_prefill", 89, "FP8 tensor cores"),
                     needs_cc(t.fp8_decode, "fp8_decode", 89, "FP8 tensor cores"),
                     needs_cc(t.w4a16_interleaved, "w4a16_interleaved", 70, "FP16 tensor cores (WMMA)")}) {
    if (check) return Fail(*check);
  }
  for (const auto& [on, knob] : {std::pair{t.fp8_prefill, "fp8_prefill"}, std::pair{t.fp8_decode, "fp8_decode"},
                                 std::pair{t.hgemm_decode, "hgemm_decode"},
                                 std::pair{t.w4a16_interleaved, "w4a16_interleaved"}}) {
    if (on && !HasGemmPath(knob)) return Fail(std::string(knob) + " = true: this build has no such path");
  }
  return t;
}

}  // namespace kpolicy::runtime
