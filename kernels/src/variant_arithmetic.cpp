#include "kpolicy/kernels/variant_arithmetic.h"

#include "kpolicy/kernels/emulation.h"

namespace kpolicy::kernels {
namespace {

constexpr VariantArithmetic kVariants[] = {
    {"q4k", "Legacy", Arithmetic::kFloatActivations},
    {"q4k", "Wide", Arithmetic::kFloatActivations},
    {"q4k", "Vectorized", Arithmetic::kFloatActivations},
    {"q4k", "MwvDp4a", Arithmetic::kDp4aQ8_1},
    {"q4k", "HwDp4a", Arithmetic::kDp4aQ8_1},
    {"q4k", "Mwv", Arithmetic::kFloatActivations},
    {"q6k", "Legacy", Arithmetic::kFloatActivations},
    {"q6k", "Mwv", Arithmetic::kFloatActivations},
    {"q6k", "Dp4a", Arithmetic::kDp4aQ8_1},
    {"q6k", "HwDp4a", Arithmetic::kDp4aQ8_1},
};

}  // namespace

std::span<const VariantArithmetic> GemvVariantTable() { return kVariants; }

const VariantArithmetic* FindVariantArithmetic(std::string_view op, std::string_view name) {
  for (const VariantArithmetic& v : kVariants) {
    if (v.op == op && v.name == name) return &v;
  }
  return nullptr;
}

std::vector<float> RunVariantOnCpu(const VariantArithmetic& variant, const WeightView& weights,
                                   std::span<const float> x, int64_t m) {
  if (variant.arithmetic == Arithmetic::kDp4aQ8_1) return EmulateDp4aPath(weights, x, m);
  return EmulateFloatPath(weights, x, m);
}

}  // namespace kpolicy::kernels
