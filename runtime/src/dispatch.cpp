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
     &D::batched_prefill, {"prefill_path", "batched", "serial"}},
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

// Whether `k` is typed as the runtime reads `rk`: its declared type, or,
// under the enum spelling, an enum holding both of the spelling's members.
bool TypedAsRead(const Knob& k, const RuntimeKnob& rk) {
  if (k.name == rk.name) return k.type.kind == rk.type;
  const EnumSpelling& e = rk.enum_spelling;
  return k.type.kind == TypeKind::kEnum && k.type.MemberIndex(e.on) && k.type.MemberIndex(e.off);
}

std::string ReadAs(const Knob& k, const RuntimeKnob& rk) {
  if (k.name == rk.name) return TypeWord(rk.type);
  return "an enum with members " + std::string(rk.enum_spelling.on) + " and " + std::string(rk.enum_spelling.off);
}

std::string Spellings(const RuntimeKnob& rk) {
  std::string s = "'" + std::string(rk.name) + "'";
  if (!rk.enum_spelling.name.empty()) s += " or '" + std::string(rk.enum_spelling.name) + "'";
  return s;
}

// Copies the declared knobs' values into the table, collecting every knob
// the policy lacks, types otherwise or spells twice.
Status ReadKnobs(const Decision& d, DispatchTable& t) {
  std::vector<std::string> missing, misdeclared;
  for (const RuntimeKnob& rk : kRuntimeKnobs) {
    const Knob* k = FindPolicyKnob(*d.policy, rk);
    if (!k) {
      missing.push_back(Spellings(rk));
      continue;
    }
    if (k->name == rk.name && !rk.enum_spelling.name.empty() && d.policy->FindKnob(rk.enum_spelling.name)) {
      misdeclared.push_back("knobs '" + std::string(rk.name) + "' and '" + std::string(rk.enum_spelling.name) +
                             "' are one switch; the policy must decide it once");
      continue;
    }
    if (!TypedAsRead(*k, rk)) {
      misdeclared.push_back("knob '" + k->name + "' is " + k->type.ToString() + "; the runtime reads it as " +
                             ReadAs(*k, rk));
      continue;
    }
    const Value& v = d.value(*k);
    const bool spelled_as_enum = k->name != rk.name;
    std::visit([&](auto field) {
      using Field = std::remove_reference_t<decltype(t.*field)>;
      if constexpr (std::is_same_v<Field, std::string>) t.*field = d.ValueText(*k);
      else if constexpr (std::is_same_v<Field, int>) t.*field = static_cast<int>(v.number);
      else t.*field = spelled_as_enum ? d.ValueText(*k) == rk.enum_spelling.on : v.number != 0;
    }, rk.field);
  }
  for (const Knob& k : d.policy->knobs) {
    if (!FindRuntimeKnob(k.name)) t.host_knobs[k.name] = d.ValueText(k);
  }
  std::string out;
  if (!missing.empty()) {
    out = "policy " + d.policy->name + " does not decide ";
    for (size_t i = 0; i < missing.size(); ++i) out += (i ? ", " : "") + missing[i];
    out += ", which the runtime needs";
  }
  for (const std::string& m : misdeclared) out += (out.empty() ? "" : "; ") + m;
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
    if (k.name == name || (!k.enum_spelling.name.empty() && k.enum_spelling.name == name)) return &k;
  }
  return nullptr;
}

const Knob* FindPolicyKnob(const Policy& policy, const RuntimeKnob& knob) {
  if (const Knob* k = policy.FindKnob(knob.name)) return k;
  if (knob.enum_spelling.name.empty()) return nullptr;
  return policy.FindKnob(knob.enum_spelling.name);
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
