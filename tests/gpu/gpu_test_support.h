// Shared by the GPU tests: the main() that skips (exit 77) without a usable
// CUDA device, device buffers, seeded workloads, and the error bounds that
// every kernel is held to. The bounds are derived from the formats' and
// fp32's rounding, never tuned to a kernel's observed error:
//
//  - FloatPathBound: (K + 4) * 2^-24 * sum_k a_k |x_k|, a_k = |d sc q| +
//    |dmin m| (Q4_K) or |d sc (q-32)| (Q6_K): every product and sum of the
//    float path rounds once in fp32, no term passes through more than K + 4
//    roundings (kernels/README.md), and each rounding moves a term by at most
//    2^-24 of the magnitude of what it sums. The magnitudes of the two terms
//    of a Q4_K weight (rather than |w|) keep the bound valid for a kernel that
//    applies the min term separately from the scale term.
//  - Dp4aBounds: with x^ = fp16(d8) q8 the Q8_1 value of x (bit-identical on
//    CPU and GPU, tests/gpu/quantize_q8_1_test.cpp), the exact DP4A value V
//    differs from the fp64 reference R by at most
//      quant = sum_k a_k |x^_k - x_k| + sum_j |dmin m_j| |s_j - sum_{k in j} x^_k|
//    (the second term: the Q4_K min term reads the block's fp16 s, not the
//    sum of the x^). Any fp32 evaluation of V (GPU or CPU emulation, whatever
//    the order) is within h * 2^-24 * S of V, S = sum_k a_k |x^_k| +
//    sum_j |dmin m_j| |s_j| the sum of magnitudes of all terms and h the
//    longest chain of roundings a term goes through: at most nsb + 48
//    (nsb super-blocks summed in order, <= 16 per block, <= 32 in the
//    shuffle and cross-group reductions: the HwDp4a split launches add up
//    to 16 half-warps' sums in order after a 4-level butterfly, 20 <= 32,
//    and a thread there sums only its own nsb/groups super-blocks; the
//    kernels' side of this is in kernels/cuda/gemv_common.cuh, "Summation
//    chain"). So GPU vs emulation: 2 h 2^-24 S;
//    GPU vs fp64: h 2^-24 S + quant.
#ifndef KPOLICY_TESTS_GPU_GPU_TEST_SUPPORT_H_
#define KPOLICY_TESTS_GPU_GPU_TEST_SUPPORT_H_

#include <cuda_runtime.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "device_presence.h"
#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::gputest {

// Runs the Boost.Test suites registered by `init` (plus the auto-registered
// ones), or prints "SKIP: ..." and returns 77 when the machine has no CUDA
// device (device_presence.h: cudaErrorNoDevice, a count of 0, or no NVIDIA
// driver installed at all) or the device predates sm_75. Any other CUDA
// error (an installed driver too old for this runtime, a broken one) is a
// failure: it prints the error and returns 1.
int GpuTestMain(int argc, char** argv, bool (*init)());

// The one test helper for failures: a failed Expected (any T; a CUDA call
// goes through KPOLICY_CUDA_STATUS from kpolicy/kernels/cuda_check.h) fails
// the test case with the error's message.
//   KPOLICY_REQUIRE_OK(variant.launch(args));
//   KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
#define KPOLICY_REQUIRE_OK(expected_expr)                                                   \
  do {                                                                                      \
    const auto& kpolicy_r_ = (expected_expr);                                               \
    BOOST_REQUIRE_MESSAGE(kpolicy_r_.ok(), (kpolicy_r_.ok() ? std::string() : kpolicy_r_.error().ToString())); \
  } while (0)

// A cudaMalloc'd buffer, freed on destruction.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  void Upload(const void* host, size_t bytes);
  void Download(void* host, size_t bytes) const;
  // Fills with 0xFF bytes: every float reads as NaN until written.
  void Poison();

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Downloads `count` floats, synchronising first (and checking the launch).
std::vector<float> DownloadFloats(const DeviceBuffer& buffer, size_t count);

enum class Workload { kGaussian, kMassive, kFp16OverflowSum };
const char* WorkloadName(Workload workload);

// A GEMV problem on seeded data: weights N x K in `format` (N(0, 1/K),
// with the columns of massive channels damped for kMassive) and activations
// M x K (N(0,1); for kMassive, 4 channels 100-1000x larger; for
// kFp16OverflowSum, Fp16OverflowSumSpec's 4 blocks of same-sign values
// 2500-4000 whose sums exceed fp16; the same channels the weights were
// damped for). `weight_seed` fixes W and the
// massive channels; `activation_seed` draws the ordinary activations afresh.
struct Problem {
  kernels::WeightMatrix weights;
  std::vector<float> x;
  int m = 1;
};
Problem MakeProblem(kernels::WeightFormat format, int64_t n, int64_t k, int m, Workload workload,
                    uint64_t weight_seed, uint64_t activation_seed);
// The two halves of MakeProblem: the weights, and activations for them.
kernels::WeightMatrix MakeWeights(kernels::WeightFormat format, int64_t n, int64_t k,
                                  Workload workload, uint64_t weight_seed);
std::vector<float> MakeActivationsFor(int64_t k, int m, Workload workload, uint64_t weight_seed,
                                      uint64_t activation_seed);

// Per output (M x N), the bounds described above.
std::vector<double> FloatPathBound(const kernels::WeightView& w, std::span<const float> x, int m);
struct Dp4aBounds {
  std::vector<double> fp32;   // h 2^-24 S: any fp32 evaluation vs the exact DP4A value
  std::vector<double> quant;  // the Q8_1 rounding: exact DP4A value vs fp64
};
Dp4aBounds ComputeDp4aBounds(const kernels::WeightView& w, std::span<const float> x, int m);

// Counts outputs with |got - want| > tolerance or got not finite; reports
// the first few through BOOST_TEST with `what` and the (m, n) index, and
// fails the test when any. Returns the count.
int64_t ExpectWithin(const std::string& what, std::span<const float> got,
                     std::span<const double> want, std::span<const double> tolerance, int64_t n);

// Runs the GEMV of `variant` on the device for `problem` (quantising x first
// for DP4A variants), with y poisoned to NaN before the launch. Returns y.
std::vector<float> RunGemv(const kernels::GemvVariant& variant, const Problem& problem,
                           int mwv_warps);

}  // namespace kpolicy::gputest

#endif  // KPOLICY_TESTS_GPU_GPU_TEST_SUPPORT_H_
