#include "kpolicy/runtime/kernel_catalog.h"

#include "kpolicy/kernels/variant_arithmetic.h"

namespace kpolicy::runtime {

bool HasGemvVariant(std::string_view op, std::string_view name) {
  return kernels::FindVariantArithmetic(op, name) != nullptr;
}

std::string GemvVariantNames(std::string_view op) {
  std::string out;
  for (const kernels::VariantArithmetic& v : kernels::GemvVariantTable()) {
    if (v.op == op) out += (out.empty() ? "" : ", ") + std::string(v.name);
  }
  return out;
}

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

}  // namespace kpolicy::runtime
