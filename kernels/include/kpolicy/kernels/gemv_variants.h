// The GEMV variant table: one row per Q4_K / Q6_K GEMV variant a policy can
// name (policies/default.yaml, enum knobs q4k and q6k), and the one place a
// variant is declared. A row says the variant's name as policies spell it,
// its operation, its arithmetic (float activations, or DP4A on Q8_1
// activations), the lowest compute capability it runs on, its launch shape,
// the CUDA launch function (null in a build without CUDA: "not built") and
// the CPU function that emulates its arithmetic. Dispatch and the enum check
// (runtime/kernel_catalog.h), the parity gate, `policyctl record`, bench_gemv
// and the GPU tests read this table; a new variant is one kernel file in
// kernels/cuda/ plus one row in kernels/src/gemv_variants.cpp (plus its
// parity record). Functions that iterate or look up variants take the table
// as a parameter, defaulting to the built-in one, so a test can add a row.
//
// CUDA-free, and readable in every build: pointers in GemvArgs are device
// pointers passed as plain pointers, the stream is an opaque handle (a
// cudaStream_t cast to void*; nullptr is the legacy default stream).
//
// Shapes. W is N x K in GGUF's layout (row n is K/256 consecutive
// BlockQ4K / BlockQ6K), x is M x K row-major float, y is M x N row-major
// float: y[m][n] = sum_k W[n][k] * x[m][k]. M = 1..8 (batched decode), N >= 1,
// K a positive multiple of 256, N * RowBytes < 2^63. Q4_K weights must be
// 16-byte aligned (they are read with 16-byte loads; cudaMalloc gives 256),
// Q6_K weights 2-byte aligned (a 210-byte block allows no more).
//
// Numerics (tests/gpu/ holds every variant to these):
//  - Float-activation variants (kFloatActivations) compute each weight as
//    ggml's dequantiser does and accumulate fp32 FMAs; error against the
//    fp64 reference <= (K+4) * 2^-24 * sum_k a_k |x_k|, a_k the magnitude of
//    the weight's terms (|d sc q| + |dmin m| for Q4_K).
//  - DP4A variants (kDp4aQ8_1) read activations quantised by
//    gpu::LaunchQuantizeQ8_1 (gemv_launch.h; the same bytes as the CPU
//    QuantizeQ8_1 with Q8SumSource::kQuantSum) and compute the arithmetic of
//    EmulateDp4aPath (Q4KMinTerm::kQ8Sum) up to fp32 summation order; their
//    error against fp64 is the Q8_1 rounding of the activations (0.5%
//    relative on Gaussian data, 10-18% on blocks that hold a massive
//    channel: see kernels/README.md).
//
// Cost of a launch. Every GEMV reads W once from device memory (N * K *
// 4.5/8 bytes for Q4_K, N * K * 6.5625/8 for Q6_K) plus x or its Q8_1 form
// (L1/L2 resident), writes M * N floats, and launches one kernel; none
// allocates, synchronises or touches host memory. Launch functions validate
// their arguments (Error kInvalidArgument) and report launch errors (kDevice);
// errors from the kernel's execution surface at the caller's next
// synchronisation.
//
// Thread-safety: the table is immutable static data; launch functions keep
// no state and may be called concurrently on different streams; emulation
// functions are pure.
#ifndef KPOLICY_KERNELS_GEMV_VARIANTS_H_
#define KPOLICY_KERNELS_GEMV_VARIANTS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

using StreamHandle = void*;  // a cudaStream_t; nullptr = the legacy default stream

inline constexpr int kMaxGemvRows = 8;   // M: activation rows per launch
inline constexpr int kMaxMwvWarps = 32;  // mwv_warps: 1..32 (policies/default.yaml)

enum class GemvOp { kQ4K, kQ6K };
inline constexpr GemvOp kGemvOps[] = {GemvOp::kQ4K, GemvOp::kQ6K};
std::string_view GemvOpName(GemvOp op);  // "q4k", "q6k": the policy knob's name
std::optional<GemvOp> GemvOpNamed(std::string_view knob);
WeightFormat GemvOpFormat(GemvOp op);    // kQ4K, kQ6K

enum class Arithmetic {
  kFloatActivations,  // dequantised weights x fp32 activations, fp32 sums
  kDp4aQ8_1,          // activations quantised to Q8_1, int8 dot products
};
std::string_view ArithmeticName(Arithmetic arithmetic);  // "float activations", "DP4A on Q8_1"

struct GemvArgs {
  const void* weights = nullptr;  // device: N x K in GemvVariant::op's block format
  const float* x = nullptr;       // device: M x K floats; read by the float-activation variants
  const void* x_q8 = nullptr;     // device: LaunchQuantizeQ8_1's output for x; read by DP4A variants
  float* y = nullptr;             // device: M x N, every element written
  int64_t n = 0;                  // N, rows of W (outputs)
  int64_t k = 0;                  // K, a multiple of 256
  int m = 1;                      // M, 1..kMaxGemvRows
  int mwv_warps = 3;              // warps per output row, 1..32; read only where uses_mwv_warps
  StreamHandle stream = nullptr;
  // true: on sm_90, launch as a programmatic dependent of the kernel before it on the stream, so
  // the GEMV streams its weights while that kernel finishes (it still waits for it before reading
  // x or writing y). Set it only where that kernel does not write the weights. Kernels without
  // this launch (every variant below sm_90, the fallbacks) ignore it.
  bool programmatic = false;
};

// Enqueues the GEMV on args.stream.
using GemvLaunchFn = Status (*)(const GemvArgs& args);
// y (M x N) = x (M x K) * W^T with the variant's arithmetic on the CPU.
// Cost: O(M N K) on one core.
using GemvEmulationFn = std::vector<float> (*)(const WeightView& weights, std::span<const float> x, int64_t m);

struct GemvVariant {
  GemvOp op;
  std::string_view name;      // exactly the policy enum member (q4k: Legacy, Wide, ...)
  Arithmetic arithmetic;
  int min_cc;                 // lowest compute capability (major*10+minor) it runs on
  bool uses_mwv_warps;        // true: args.mwv_warps sets the warps that share one row
  std::string_view mapping;   // one line: how threads map onto rows and blocks
  GemvLaunchFn launch;        // nullptr: not built (a build without CUDA)
  GemvEmulationFn emulate;    // the CPU emulation of its arithmetic; never null

  // true: reads args.x_q8 (run gpu::LaunchQuantizeQ8_1 first).
  bool quantizes_activations() const { return arithmetic == Arithmetic::kDp4aQ8_1; }
  bool built() const { return launch != nullptr; }
};

using GemvVariantTable = std::span<const GemvVariant>;

// The built-in table: q4k's rows then q6k's, each in the policy enum's order.
// Cost: O(1), static storage.
GemvVariantTable BuiltinGemvVariants();

// The rows of `op` in `table`, in table order.
std::vector<const GemvVariant*> GemvVariantsOf(GemvOp op, GemvVariantTable table = BuiltinGemvVariants());
// nullptr when `op` has no variant `name` in `table` (names are case-sensitive).
const GemvVariant* FindGemvVariant(GemvOp op, std::string_view name,
                                   GemvVariantTable table = BuiltinGemvVariants());
// "Legacy, Wide, ..." for messages.
std::string GemvVariantNames(GemvOp op, GemvVariantTable table = BuiltinGemvVariants());

// The two emulations a row can name (EmulateFloatPath / EmulateDp4aPath
// with their default options).
std::vector<float> EmulateFloatActivations(const WeightView& weights, std::span<const float> x, int64_t m);
std::vector<float> EmulateDp4aQ8_1(const WeightView& weights, std::span<const float> x, int64_t m);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_GEMV_VARIANTS_H_
