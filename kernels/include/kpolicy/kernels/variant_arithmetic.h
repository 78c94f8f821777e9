// What each GEMV variant a policy can name computes, independent of how its
// threads are laid out: the float-activation path or the DP4A path on Q8_1
// activations. This is the list of variants this project has; the CUDA
// registry (gemv_registry.h) must hold the same names with the same
// arithmetic (tests/kernels/variant_table_test.cpp checks it), and the CPU
// side uses it to run any variant's arithmetic where no GPU is present (the
// runtime's CPU path, its parity gate's expected values).
//
// Thread-safety: immutable static data; Run is a pure function.
#ifndef KPOLICY_KERNELS_VARIANT_ARITHMETIC_H_
#define KPOLICY_KERNELS_VARIANT_ARITHMETIC_H_

#include <span>
#include <string_view>
#include <vector>

#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

enum class Arithmetic {
  kFloatActivations,  // dequantised weights x fp32 activations, fp32 sums
  kDp4aQ8_1,          // activations quantised to Q8_1, int8 dot products
};

struct VariantArithmetic {
  std::string_view op;    // the policy knob: "q4k", "q6k"
  std::string_view name;  // the knob's enum member: "HwDp4a"
  Arithmetic arithmetic;
};

// Every variant, q4k's then q6k's, each in the policy enum's order.
std::span<const VariantArithmetic> GemvVariantTable();
// nullptr when `op` has no variant `name`.
const VariantArithmetic* FindVariantArithmetic(std::string_view op, std::string_view name);

// y (M x N) = x (M x K) * W^T with the variant's arithmetic on the CPU
// (EmulateFloatPath or EmulateDp4aPath). Cost: O(M N K) on one core.
std::vector<float> RunVariantOnCpu(const VariantArithmetic& variant, const WeightView& weights,
                                   std::span<const float> x, int64_t m);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_VARIANT_ARITHMETIC_H_
