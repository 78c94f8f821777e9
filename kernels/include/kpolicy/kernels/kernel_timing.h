// How kpolicy times kernels: the one implementation behind bench_gemv,
// bench_prefill and the speed fields of `policyctl record`, so a record and
// a benchmark of the same kernel and shape measure the same thing.
//
// Two methods, each for the regime it measures:
//
//  - Graph replay (decode GEMVs, a few microseconds each, where one
//    launch's overhead and an event pair's resolution are as large as the
//    kernel): L launches captured into one CUDA graph, launch i reading
//    weight copy i % C, the C copies together larger than 3x the L2 so each
//    launch reads its weights from device memory; 3 untimed replays, then
//    the median over R replays of (replay time / L). Launch gaps inside the
//    graph count, as they do in a decode step.
//  - Flushed calls (prefill GEMMs, tens to hundreds of microseconds, and
//    cuBLAS calls that a graph would freeze to one algorithm): before each
//    call a cudaMemsetAsync over 2x the L2 (outside the event pair) evicts
//    the weights; 3 untimed calls, then the median of R calls each timed
//    with a CUDA event pair on the stream.
//
// The weight-copy arithmetic is plain C++ (tested on any machine); the
// timers exist only in builds with CUDA. CUDA-free to include; streams are
// StreamHandle (gemv_variants.h). Errors are Status values naming the CUDA
// call that failed, or the enqueue function's own error.
//
// Thread-safety: the functions keep no state; a FlushedTimer is used by one
// thread at a time.
#ifndef KPOLICY_KERNELS_KERNEL_TIMING_H_
#define KPOLICY_KERNELS_KERNEL_TIMING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"

namespace kpolicy::kernels::gpu {

// Untimed replays (graph) or calls (flushed) before the timed ones: the
// first replay uploads the graph, the first cuBLASLt call builds its plan.
inline constexpr int kTimingWarmups = 3;

// Weight copies whose total exceeds 3x the L2: ceil(3 * l2 / copy_bytes),
// at least 2 (so consecutive launches never read the same copy) and at most
// 512 (a bound on the memory a tiny matrix may take). Precondition:
// copy_bytes >= 1, l2_bytes >= 0. Pure.
int WeightCopiesToDefeatL2(int64_t copy_bytes, int64_t l2_bytes);

// Launches per graph for `copies` weight copies: every copy once, and at
// least 20 so that the replay's own start-up is amortised. Pure.
int GraphLaunchesFor(int copies);

// One line naming each method with its counts, for a report's front matter
// or a record's provenance. Pure.
std::string GraphTimingMethod(int replays);
std::string FlushedTimingMethod(int repeats);

// What a timed launch does: enqueue launch number `launch` (0-based) on
// `stream`, without synchronising. An error aborts the timing.
using EnqueueLaunch = std::function<Status(StreamHandle stream, int launch)>;

// Median microseconds per launch of enqueue(stream, 0..launches-1) captured
// into one graph on a stream of its own, over `replays` timed replays after
// kTimingWarmups untimed ones (the graph-replay method above). Preconditions
// (checked): launches >= 1, replays >= 1. The enqueue function must use the
// stream it is given (a capture fails on any other). Cost: launches *
// (replays + kTimingWarmups) executions.
Expected<double> MedianGraphLaunchMicroseconds(const EnqueueLaunch& enqueue, int launches, int replays);

// The flushed-call method above, on one stream, with a flush buffer and an
// event pair kept across calls.
class FlushedTimer {
 public:
  // Allocates 2x the current device's L2 (at least 2 MiB) for the flush.
  // Precondition (checked): repeats >= 1.
  static Expected<FlushedTimer> Create(StreamHandle stream, int repeats);

  FlushedTimer(FlushedTimer&&) noexcept;
  FlushedTimer& operator=(FlushedTimer&&) noexcept;
  ~FlushedTimer();

  // Median microseconds of one enqueue(stream, i) (i counts the calls, warm-up
  // included), the L2 flushed before each; synchronises after each call.
  Expected<double> Median(const EnqueueLaunch& enqueue);

  int repeats() const;
  int64_t flush_bytes() const;

 private:
  struct State;
  explicit FlushedTimer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_KERNEL_TIMING_H_
