// The GEMM paths behind the policy knobs that are not GEMV variants
// (policies/default.yaml): fp8_prefill, fp8_decode, hgemm_decode,
// w4a16_interleaved and batched_prefill. Each computes, for Q4_K or Q6_K
// weights W (N x K, GGUF layout) and M activation rows x (M x K row-major
// float, device), y (M x N row-major float, device):
//     y[m][n] = sum_k W[n][k] * x[m][k]
// The weights are prepared once per path (GemmWeights, cached on the device);
// RunGemm then only touches the activations.
//
//  kFp8Lt            fp8_prefill (M = T tokens), fp8_decode (M = 2..8).
//                    W dequantised once on the host (DequantizeAll) and
//                    encoded as FP8 E4M3 with ONE per-tensor scale
//                    (QuantizeFp8PerTensor: s_w = absmax/448). Per call, x
//                    (the whole M x K tensor) gets its per-tensor absmax on
//                    the GPU, s_x = absmax/448 (1 if all zero), codes
//                    E4M3(x / s_x) with round-to-nearest-even, saturating to
//                    +-448 (bit for bit FloatToFp8E4M3). Then one cublasLtMatmul:
//                    D (N x M, column-major = y row-major) = s_w s_x A^T B, A =
//                    the weight codes (K x N column-major, lda K, transa = T),
//                    B = the activation codes (K x M, ldb K, transb = N): the
//                    "TN" layout Ada/Hopper FP8 requires; A/B scales by
//                    CUBLASLT_MATMUL_DESC_A/B_SCALE_POINTER (device floats),
//                    CUBLAS_COMPUTE_32F, scale type FP32, C = D = FP32 (the
//                    output is FP32 so that parity is measured on the GEMM,
//                    not on an FP16 output rounding; FP32 out costs 4 bytes
//                    per output, negligible against K). Fast accumulation is
//                    off (cuBLASLt promotes partial sums to FP32
//                    periodically). Algorithm: the first result of
//                    cublasLtMatmulAlgoGetHeuristic with the context's
//                    workspace; plans are cached per (M, N, K) in the
//                    context. Needs cc >= 8.9 (CheckFp8Capability): older
//                    devices get that error from GemmWeights::Create, never
//                    a fallback. cuBLASLt FP8 needs 16-byte aligned leading
//                    dimensions: K % 16 == 0 (always true for Q4_K/Q6_K) and
//                    N % 4 == 0 (FP32 output rows); a shape the heuristic has
//                    no algorithm for is a cudaErrorNotSupported whose
//                    message says "no algorithm" and names the configuration.
//  kF16Cublas        hgemm_decode (M = 1) and batched_prefill without FP8.
//                    W dequantised once to FP16 (round to nearest even, as
//                    FloatToHalf); x converted to FP16 on the GPU
//                    (__float2half_rn, so |x| >= 65520 becomes inf); then
//                    cublasGemmEx(OP_T, OP_N, N, M, K, W16 lda K, x16 ldb K,
//                    y FP32 ldc N, CUBLAS_COMPUTE_32F): FP16 inputs, FP32
//                    accumulation and output (FP16 accumulation would lose
//                    ~2^-11 per addition over K = 4096..14336 terms).
//  kW4a16Interleaved w4a16_interleaved, M = 1..64 (decode; the knob is meant
//                    for M = 2..64). Q4_K only, re-laid out once as
//                    w4a16_layout.h draws it. A kernel of this library:
//                    blocks of 4 warps, warp w owns one 16-row tile; per
//                    super-block the block stages x (M x 256, as FP16) in
//                    shared memory, each warp dequantises its tile's weights
//                    in registers ((d*sc)*q - dmin*m in FP32, then FP16 RNE)
//                    into shared memory, one quant group (64 weights) at a
//                    time, and runs WMMA m16n16k16 (FP16 in, FP32
//                    accumulate) against ceil(M/16) activation tiles. K is
//                    split across blockIdx.y when the row tiles alone give
//                    fewer than 2 blocks per SM; split partials (FP32, in the
//                    context's scratch) are summed in a fixed order by a
//                    second kernel, so results are deterministic. N need not
//                    be a multiple of 16 (padded tile, outputs masked).
//                    Needs sm_70+ (CheckW4a16Capability, checked at Create).
//  kGemvLoop         batched_prefill = false: one GEMV per token, the
//                    table's HwDp4a variant (gemv_variants.h) of the
//                    weights' format, each token's row quantised to Q8_1 by
//                    LaunchQuantizeQ8_1 first: 2T launches, raw Q4_K/Q6_K
//                    weights (no copy of another format).
//
// CUDA-free. Pointers in RunGemm are device pointers; errors are Status
// values; launches are asynchronous on the context's stream (execution
// errors surface at the caller's next synchronisation).
//
// Thread-safety: GemmWeights is immutable after Create (concurrent RunGemm
// calls on different contexts may share it); a GemmContext is used by one
// thread at a time.
#ifndef KPOLICY_KERNELS_GEMM_PATHS_H_
#define KPOLICY_KERNELS_GEMM_PATHS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemm_context.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels::gpu {

enum class GemmPath { kFp8Lt, kF16Cublas, kW4a16Interleaved, kGemvLoop };

// "fp8_lt", "f16_cublas", "w4a16_interleaved", "gemv_loop".
std::string_view GemmPathName(GemmPath path);

// Lowest compute capability (major*10+minor) a path runs on: 89 for kFp8Lt,
// 70 for kW4a16Interleaved, 75 (the library's oldest target) otherwise.
int GemmPathMinCc(GemmPath path);

inline constexpr int kMaxW4a16Rows = 64;  // M of the W4A16 path

// The knobs' meaning for a prefill of T tokens: batched_prefill selects one
// GEMM (FP8 when fp8_prefill, else FP16 cuBLAS) over T GEMVs.
GemmPath PrefillGemmPath(bool batched_prefill, bool fp8_prefill);

// For a decode step of M rows: the GEMM path the knobs select, or nullopt
// for "the GEMV registry's variant (knobs q4k / q6k)". M == 1: kF16Cublas
// if hgemm_decode. M >= 2: kW4a16Interleaved if w4a16_interleaved (Q4_K
// only, M <= 64; it is off by default and set only by an operator asking
// for it), else kFp8Lt if fp8_decode.
std::optional<GemmPath> DecodeGemmPath(int m, bool is_q4k, bool fp8_decode, bool hgemm_decode,
                                       bool w4a16_interleaved);

// The weights of one path, on the device, prepared once.
class GemmWeights {
 public:
  // From Q4_K or Q6_K weights on the host (kW4a16Interleaved: Q4_K only).
  // Checks the context's device against GemmPathMinCc first (the FP8 and
  // W4A16 capability errors above). Cost: kFp8Lt O(NK) host work
  // (DequantizeAll + QuantizeFp8PerTensor) and N*K bytes on the device;
  // kF16Cublas O(NK) host work and 2*N*K bytes; kW4a16Interleaved one host
  // pass and the Q4_K bytes (rounded up to 16-row tiles); kGemvLoop the raw
  // bytes. One cudaMalloc and one synchronous upload.
  static Expected<GemmWeights> Create(const GemmContext& context, GemmPath path,
                                                  const WeightView& weights);

  GemmWeights(GemmWeights&&) noexcept;
  GemmWeights& operator=(GemmWeights&&) noexcept;
  ~GemmWeights();

  GemmPath path() const;
  WeightFormat source_format() const;  // kQ4K or kQ6K
  int64_t rows() const;                // N
  int64_t cols() const;                // K
  // The device bytes: FP8 codes (N x K), FP16 (N x K), the interleaved
  // layout, or the raw blocks.
  const void* device_data() const;
  int64_t device_bytes() const;
  // kFp8Lt: the weights' per-tensor scale (host copy of the device float the
  // GEMM reads through A_SCALE_POINTER); 1 for the other paths.
  float fp8_scale() const;
  const float* device_fp8_scale() const;  // nullptr unless kFp8Lt

  struct State;

 private:
  explicit GemmWeights(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Rows of activations a path takes per call: kFp8Lt and kF16Cublas any M >= 1
// (up to 2^31 / K), kW4a16Interleaved 1..kMaxW4a16Rows, kGemvLoop any M >= 1.
// y = x W^T on the context's stream; every element of y is written. x and y
// are device pointers to M x K and M x N floats (x 16-byte aligned). Cost:
// kFp8Lt: a memset, 2 kernels over x (absmax, encode) and one
// cublasLtMatmul (the first call at a new (M, N, K) also builds its plan:
// descriptors and a heuristic query, host-side); kF16Cublas: 1 kernel over x
// and one cublasGemmEx; kW4a16Interleaved: 1 kernel (2 with split K);
// kGemvLoop: 2M launches. The first call at a new largest M may grow the
// context's scratch (cudaFree/cudaMalloc, which synchronise). Errors:
// cudaErrorInvalidValue for bad arguments (the violated condition named),
// mapped cuBLAS statuses, launch errors.
Status RunGemm(GemmContext& context, const GemmWeights& weights, const float* x, int m,
                   float* y);

// ---- The pieces of the FP8 path, for tests and benchmarks ----------------------

// Per-tensor FP8 encoding of `count` floats on the device, bit for bit
// QuantizeFp8PerTensor: codes[i] = E4M3(x[i] / s), s = absmax/448 over the
// finite values (1 if that is 0), written to *scale (device). `absmax_bits`
// is a device uint32 scratch word. 3 operations on `stream` (memset, absmax
// kernel, encode kernel). Precondition: count % 4 == 0, x 16-byte aligned.
Status LaunchQuantizeFp8PerTensor(const float* x, int64_t count, uint8_t* codes, float* scale,
                                      uint32_t* absmax_bits, StreamHandle stream);

// The cuBLASLt product alone: y (M x N, row-major float) = a_scale * b_scale
// * B A^T with A = a_codes (N x K row-major E4M3), B = b_codes (M x K
// row-major E4M3) and the scales device floats; the TN configuration
// described for kFp8Lt. No shape checks beyond positivity: shapes cuBLASLt
// rejects come back as its errors (e.g. "no algorithm"). Needs cc >= 8.9.
Status Fp8Matmul(GemmContext& context, const uint8_t* a_codes, const float* a_scale,
                     const uint8_t* b_codes, const float* b_scale, int64_t m, int64_t n,
                     int64_t k, float* y);

// The FP16 product alone: y (M x N float) = B A^T, A = a (N x K FP16
// row-major), B = b (M x K FP16 row-major), via cublasGemmEx as described
// for kF16Cublas.
Status F16Matmul(GemmContext& context, const void* a, const void* b, int64_t m, int64_t n,
                     int64_t k, float* y);

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMM_PATHS_H_
