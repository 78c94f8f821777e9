// DeviceGemv: one GEMV variant run on host data, for measuring parity
// (policyctl record, the runtime's load-time gate), not for serving: the
// weights are uploaded once; each Run uploads the activations, quantises
// them to Q8_1 where the variant reads that, launches, waits and copies the
// outputs back. Every CUDA call is checked; failures come back as values.
//
// Thread-safety: an instance owns device memory and is used by one thread.
#ifndef KPOLICY_KERNELS_GEMV_RUNNER_H_
#define KPOLICY_KERNELS_GEMV_RUNNER_H_

#include <memory>
#include <span>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels::gpu {

// The L2 cache size of the current device in bytes, so that a timing loop can
// size its weight copies to defeat the cache (MedianMicroseconds below).
// Cost: one attribute query.
Expected<int64_t> CurrentDeviceL2Bytes();

class DeviceGemv {
 public:
  // Uploads `weights` (N x K in the variant's format). Fails with
  // kUnsupported for a row without a kernel (variant.built() false).
  // Cost: one cudaMalloc and one copy of the weight bytes.
  static Expected<DeviceGemv> Create(const GemvVariant& variant, const WeightView& weights);

  DeviceGemv(DeviceGemv&&) noexcept;
  DeviceGemv& operator=(DeviceGemv&&) noexcept;
  ~DeviceGemv();

  // y (M x N) = x (M x K) * W^T on the device. The output buffer is poisoned
  // (NaN) before the launch, so an unwritten element shows as NaN.
  // Cost: synchronous; a few small copies besides the kernel.
  Expected<std::vector<float>> Run(std::span<const float> x, int m, int mwv_warps);

  // Whether a timed launch of a variant that reads Q8_1 activations
  // quantises them first: kExcluded times the GEMV kernel alone (the figure
  // bench_gemv reports for the same variant and shape), kIncluded what a
  // decode step pays for it. Variants reading float activations ignore it.
  enum class Quantisation { kExcluded, kIncluded };

  // Median microseconds of one launch (M rows, activations already on the
  // device) by kernel_timing.h's graph-replay method, the one bench_gemv
  // uses: GraphLaunchesFor(C) launches in one CUDA graph, launch i reading
  // weight copy i % C, C = WeightCopiesToDefeatL2(weight bytes, this
  // device's L2) so no launch finds its weights in L2; `replays` timed
  // replays after kTimingWarmups. Cost: C times the weight memory (kept for
  // later timings of this instance) and (replays + 3) x L launches.
  Expected<double> MedianMicroseconds(int m, int mwv_warps, int replays,
                                      Quantisation quantisation = Quantisation::kExcluded);

  const GemvVariant& variant() const { return *variant_; }
  int64_t weight_bytes() const;

 private:
  struct State;
  explicit DeviceGemv(std::unique_ptr<State> state, const GemvVariant& variant);

  std::unique_ptr<State> state_;
  const GemvVariant* variant_;
};

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMV_RUNNER_H_
