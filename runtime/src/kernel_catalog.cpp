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
  // The GEMM paths (FP8 cuBLASLt, HGEMM, W4A16) are not built yet.
  (void)knob;
  return false;
}

}  // namespace kpolicy::runtime
