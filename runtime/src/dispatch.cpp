#include "kpolicy/runtime/dispatch.h"

#include <optional>
#include <type_traits>

#include "kpolicy/runtime/device_probe.h"
#include "kpolicy/runtime/kernel_catalog.h"

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;

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

namespace {

using D = DispatchTable;

// The one declaration of the knobs the runtime acts on (policies/default.yaml
// documents each; kernel_catalog.h says which paths a build has).
const RuntimeKnob kRuntimeKnobs[] = {
    {"q4k", TypeKind::kEnum, "the Q4_K GEMV kernel: a row of the variant table", &D::q4k},
    {"q6k", TypeKind::kEnum, "the Q6_K GEMV kernel: a row of the variant table", &D::q6k},
    {"mwv_warps", TypeKind::kInt, "warps sharing one output row in the Mwv / MwvDp4a kernels (1..32)",
     &D::mwv_warps},
    {"batched_prefill", TypeKind::kBool, "prefill as one GEMM (true) or one GEMV per token (false)",
     &D::batched_prefill},
    {"hgemm_decode", TypeKind::kBool, "decode through the FP16 cuBLAS GEMM instead of the GEMV kernels",
     &D::hgemm_decode},
    {"fused_gate_up", TypeKind::kBool, "the fused gate+up+SwiGLU kernel of the HwDp4a path", &D::fused_gate_up},
    {"fp8_prefill", TypeKind::kBool, "prefill GEMMs in FP8 E4M3 through cuBLASLt", &D::fp8_prefill},
    {"fp8_decode", TypeKind::kBool, "decode GEMMs in FP8 E4M3 through cuBLASLt", &D::fp8_decode},
    {"w4a16_interleaved", TypeKind::kBool, "the W4A16 WMMA GEMM on interleaved 4-bit weights",
     &D::w4a16_interleaved},
    {"sm_target", TypeKind::kString, "the architecture the host compiles its own kernels for (reported)",
     &D::sm_target},
};

const char* TypeWord(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool: return "bool";
    case TypeKind::kInt: return "int";
    case TypeKind::kEnum: return "an enum";
    case TypeKind::kString: return "string";
    case TypeKind::kVersion: return "version";
  }
  return "?";
}

// Copies the declared knobs' values into the table, collecting every knob
// the policy lacks or types otherwise.
Status ReadKnobs(const Decision& d, DispatchTable& t) {
  std::vector<std::string> missing, mistyped;
  // A policy may say prefill_path {serial, batched} (with its reasons)
  // instead of batched_prefill; the runtime reads whichever it has.
  const Knob* prefill_path = d.policy->FindKnob("prefill_path");
  if (prefill_path && prefill_path->type.kind == TypeKind::kEnum && prefill_path->type.MemberIndex("batched")) {
    t.batched_prefill = d.ValueText(*prefill_path) == "batched";
  } else {
    prefill_path = nullptr;
  }
  for (const RuntimeKnob& rk : kRuntimeKnobs) {
    const Knob* k = d.policy->FindKnob(std::string(rk.name));
    if (!k && prefill_path && rk.name == std::string_view("batched_prefill")) continue;
    if (!k) {
      missing.push_back("'" + std::string(rk.name) + "'");
      continue;
    }
    if (k->type.kind != rk.type) {
      mistyped.push_back("knob '" + k->name + "' is " + k->type.ToString() + "; the runtime reads it as " +
                         TypeWord(rk.type));
      continue;
    }
    const Value& v = d.value(*k);
    std::visit([&](auto field) {
      using Field = std::remove_reference_t<decltype(t.*field)>;
      if constexpr (std::is_same_v<Field, std::string>) t.*field = d.ValueText(*k);
      else if constexpr (std::is_same_v<Field, int>) t.*field = static_cast<int>(v.number);
      else t.*field = v.number != 0;
    }, rk.field);
  }
  for (const Knob& k : d.policy->knobs) {
    if (!FindRuntimeKnob(k.name) && &k != prefill_path) t.host_knobs[k.name] = d.ValueText(k);
  }
  std::string out;
  if (!missing.empty()) {
    out = "policy " + d.policy->name + " does not decide ";
    for (size_t i = 0; i < missing.size(); ++i) out += (i ? ", " : "") + missing[i];
    out += ", which the runtime needs";
  }
  for (const std::string& m : mistyped) out += (out.empty() ? "" : "; ") + m;
  if (!out.empty()) return Fail(ErrorCode::kInvalidInput, out);
  return {};
}

std::string CcText(int cc) { return std::to_string(cc / 10) + "." + std::to_string(cc % 10); }

// Binds each GEMV knob to its row; on the GPU the row must have a kernel
// that runs on this device.
Status BindGemvKernels(DispatchTable& t, const Capabilities& caps, kn::GemvVariantTable variants) {
  for (const kn::GemvOp op : kn::kGemvOps) {
    const std::string& name = t.gemv_name(op);
    const std::string knob(kn::GemvOpName(op));
    const kn::GemvVariant* row = kn::FindGemvVariant(op, name, variants);
    if (!row) {
      return Fail(ErrorCode::kUnsupported, knob + " = " + name + ": no such kernel variant (known: " +
                                               kn::GemvVariantNames(op, variants) + ")");
    }
    if (caps.gpu_kernels && !row->built()) {
      return Fail(ErrorCode::kUnsupported, knob + " = " + name + ": this build has no kernel for it (not built)");
    }
    if (caps.gpu_kernels && caps.cc < row->min_cc) {
      return Fail(ErrorCode::kUnsupported, knob + " = " + name + " needs compute capability " +
                                               CcText(row->min_cc) + "+; this GPU is " + CcText(caps.cc));
    }
    t.gemv[static_cast<size_t>(op)] = row;
  }
  return {};
}

}  // namespace

std::span<const RuntimeKnob> RuntimeKnobs() { return kRuntimeKnobs; }

const RuntimeKnob* FindRuntimeKnob(std::string_view name) {
  for (const RuntimeKnob& k : kRuntimeKnobs) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Expected<DispatchTable> BuildDispatch(const Decision& decision, const Capabilities& caps,
                                      kn::GemvVariantTable variants) {
  DispatchTable t;
  t.gpu = caps.gpu_kernels;
  KPOLICY_TRY(ReadKnobs(decision, t));
  // Every named variant must be a row of the table, whatever the device.
  KPOLICY_TRY(BindGemvKernels(t, caps, variants));
  if (t.mwv_warps < 1 || t.mwv_warps > kn::kMaxMwvWarps) {
    return Fail(ErrorCode::kInvalidInput,
                "mwv_warps = " + std::to_string(t.mwv_warps) + ": the Mwv kernels take 1..32 warps");
  }
  if (t.fused_gate_up && t.q4k != "HwDp4a") {
    return Fail(ErrorCode::kInvalidInput,
                "fused_gate_up = true needs q4k = HwDp4a (the fused gate+up kernel is the HwDp4a path's), but q4k = " +
                    t.q4k);
  }
  if (!caps.gpu_kernels) return t;  // the CPU path runs every knob's arithmetic as reference

  const auto needs_cc = [&](bool on, const char* knob, int cc, const char* what) -> std::optional<std::string> {
    if (on && caps.cc < cc) {
      return std::string(knob) + " = true needs " + what + " (compute capability " + CcText(cc) + "+); this GPU is " +
             CcText(caps.cc);
    }
    return std::nullopt;
  };
  for (auto check : {needs_cc(t.fp8_prefill, "fp8_prefill", 89, "FP8 tensor cores"),
                     needs_cc(t.fp8_decode, "fp8_decode", 89, "FP8 tensor cores"),
                     needs_cc(t.w4a16_interleaved, "w4a16_interleaved", 70, "FP16 tensor cores (WMMA)")}) {
    if (check) return Fail(ErrorCode::kUnsupported, *check);
  }
  for (const auto& [on, knob] : {std::pair{t.fp8_prefill, "fp8_prefill"}, std::pair{t.fp8_decode, "fp8_decode"},
                                 std::pair{t.hgemm_decode, "hgemm_decode"},
                                 std::pair{t.w4a16_interleaved, "w4a16_interleaved"}}) {
    if (on && !HasGemmPath(knob)) {
      return Fail(ErrorCode::kUnsupported, std::string(knob) + " = true: this build has no such path");
    }
  }
  return t;
}

}  // namespace kpolicy::runtime
