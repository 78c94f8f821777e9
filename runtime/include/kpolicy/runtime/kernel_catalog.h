// Which kernels and paths this build has, and whether a policy's GEMV enums
// agree with the kernels' variant table (kernels/gemv_variants.h): the
// dispatch table is checked against it, so a policy naming a kernel that
// does not exist fails at startup, not at the first token.
//
// Thread-safety: pure functions over static data.
#ifndef KPOLICY_RUNTIME_KERNEL_CATALOG_H_
#define KPOLICY_RUNTIME_KERNEL_CATALOG_H_

#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/policy.h"

namespace kpolicy::runtime {

// CUDA 13 compiles for sm_75 and newer; older GPUs stay in the policy's
// catalog as facts only.
inline constexpr int kLowestKernelCc = 75;

// Whether the GEMM path a boolean knob switches on ("fp8_prefill",
// "fp8_decode", "hgemm_decode", "w4a16_interleaved") is compiled in.
bool HasGemmPath(std::string_view knob);

// The enum check: for each GEMV operation, every member of the policy's enum
// knob (q4k, q6k) must be a row of `variants` and every row a member. One
// message per disagreement ("policy P: q4k enum has no value Dummy, which
// the variant table has"), empty when they agree. A policy without the
// knob, or with it typed otherwise, gets one message saying so.
// Cost: O(members x rows).
std::vector<std::string> GemvEnumMismatches(const Policy& policy,
                                            kernels::GemvVariantTable variants = kernels::BuiltinGemvVariants());

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_KERNEL_CATALOG_H_
