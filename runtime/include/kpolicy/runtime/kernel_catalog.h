// Which kernels and paths this build has: the dispatch table is checked
// against it, so a policy naming a kernel that does not exist fails at
// startup, not at the first token.
//
// Thread-safety: pure functions over static data.
#ifndef KPOLICY_RUNTIME_KERNEL_CATALOG_H_
#define KPOLICY_RUNTIME_KERNEL_CATALOG_H_

#include <string>
#include <string_view>

namespace kpolicy::runtime {

// CUDA 13 compiles for sm_75 and newer; older GPUs stay in the policy's
// catalog as facts only.
inline constexpr int kLowestKernelCc = 75;

// Whether `op` ("q4k", "q6k") has a GEMV variant `name`.
bool HasGemvVariant(std::string_view op, std::string_view name);
// "Legacy, Wide, ..." for messages.
std::string GemvVariantNames(std::string_view op);

// Whether the GEMM path a boolean knob switches on ("fp8_prefill",
// "fp8_decode", "hgemm_decode", "w4a16_interleaved") is compiled in.
bool HasGemmPath(std::string_view knob);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_KERNEL_CATALOG_H_
