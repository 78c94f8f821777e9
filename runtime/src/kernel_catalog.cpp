#include "kpolicy/runtime/kernel_catalog.h"

#include <algorithm>

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;

bool HasGemmPath(std::string_view knob) {
  // Built with the CUDA kernels (kernels/gemm_paths.h); a build without
  // CUDA has none of them.
#ifdef KPOLICY_HAVE_GEMM_PATHS
  return knob == "fp8_prefill" || knob == "fp8_decode" || knob == "hgemm_decode" || knob == "w4a16_interleaved";
#else
  (void)knob;
  return false;
#endif
}

std::vector<std::string> GemvEnumMismatches(const Policy& policy, kn::GemvVariantTable variants) {
  std::vector<std::string> out;
  for (const kn::GemvOp op : kn::kGemvOps) {
    const std::string knob(kn::GemvOpName(op));
    const Knob* k = policy.FindKnob(knob);
    if (!k || k->type.kind != TypeKind::kEnum) {
      out.push_back("policy " + policy.name + ": no enum knob " + knob + " to select the " + knob + " GEMV variant");
      continue;
    }
    const std::vector<std::string>& members = k->type.members;
    for (const std::string& member : members) {
      if (!kn::FindGemvVariant(op, member, variants)) {
        out.push_back("policy " + policy.name + ": " + knob + " enum value " + member +
                      " has no row in the variant table (rows: " + kn::GemvVariantNames(op, variants) + ")");
      }
    }
    for (const kn::GemvVariant* row : kn::GemvVariantsOf(op, variants)) {
      if (std::find(members.begin(), members.end(), row->name) == members.end()) {
        out.push_back("policy " + policy.name + ": " + knob + " enum has no value " + std::string(row->name) +
                      ", which the variant table has");
      }
    }
  }
  return out;
}

}  // namespace kpolicy::runtime
