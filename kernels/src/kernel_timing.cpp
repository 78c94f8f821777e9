// The CUDA-free half of kernel_timing.h: how many weight copies and launches
// a graph timing takes, and the method's description. The timers are in
// kernels/cuda/kernel_timing.cu.
#include "kpolicy/kernels/kernel_timing.h"

#include <algorithm>

namespace kpolicy::kernels::gpu {

int WeightCopiesToDefeatL2(int64_t copy_bytes, int64_t l2_bytes) {
  const int64_t bytes = std::max<int64_t>(copy_bytes, 1);
  const int64_t needed = (3 * std::max<int64_t>(l2_bytes, 0) + bytes - 1) / bytes;  // ceil(3 L2 / bytes)
  return static_cast<int>(std::clamp<int64_t>(needed, 2, 512));
}

int GraphLaunchesFor(int copies) { return std::max(copies, 20); }

std::string GraphTimingMethod(int replays) {
  return "CUDA graph of L = max(C, 20) launches rotating C = max(2, ceil(3 L2 / weight bytes)) weight "
         "copies, " + std::to_string(kTimingWarmups) + " warm-up replays, median of " + std::to_string(replays) +
         " replays / L (kernel_timing.h)";
}

std::string FlushedTimingMethod(int repeats) {
  return "L2 flushed (cudaMemsetAsync over 2x L2) before each call, " + std::to_string(kTimingWarmups) +
         " warm-up calls, median of " + std::to_string(repeats) +
         " calls timed with CUDA events (kernel_timing.h)";
}

}  // namespace kpolicy::kernels::gpu
