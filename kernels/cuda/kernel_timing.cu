// The timers of kernel_timing.h: graph replay and flushed calls.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/kernel_timing.h"

namespace kpolicy::kernels::gpu {
namespace {

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The CUDA objects of one timing, released whichever way it ends.
struct GraphObjects {
  cudaStream_t stream = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  ~GraphObjects() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
    if (stream) cudaStreamDestroy(stream);
  }
};

// Captures the launches; a failed enqueue still ends the capture, so the
// stream is usable (and destroyable) afterwards.
Status Capture(GraphObjects& g, const EnqueueLaunch& enqueue, int launches) {
  KPOLICY_CUDA_CHECK(cudaStreamBeginCapture(g.stream, cudaStreamCaptureModeThreadLocal));
  Status enqueued;
  for (int i = 0; i < launches && enqueued.ok(); ++i) enqueued = enqueue(g.stream, i);
  const cudaError_t ended = cudaStreamEndCapture(g.stream, &g.graph);
  KPOLICY_TRY(enqueued);
  KPOLICY_CUDA_CHECK(ended);
  KPOLICY_CUDA_CHECK(cudaGraphInstantiate(&g.exec, g.graph, 0));
  return {};
}

}  // namespace

Expected<double> MedianGraphLaunchMicroseconds(const EnqueueLaunch& enqueue, int launches, int replays) {
  KPOLICY_CHECK_ARG(launches >= 1 && replays >= 1);
  GraphObjects g;
  KPOLICY_CUDA_CHECK(cudaStreamCreateWithFlags(&g.stream, cudaStreamNonBlocking));
  KPOLICY_TRY(Capture(g, enqueue, launches));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&g.start));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&g.stop));
  for (int i = 0; i < kTimingWarmups; ++i) KPOLICY_CUDA_CHECK(cudaGraphLaunch(g.exec, g.stream));
  std::vector<double> per_launch;
  for (int r = 0; r < replays; ++r) {
    KPOLICY_CUDA_CHECK(cudaEventRecord(g.start, g.stream));
    KPOLICY_CUDA_CHECK(cudaGraphLaunch(g.exec, g.stream));
    KPOLICY_CUDA_CHECK(cudaEventRecord(g.stop, g.stream));
    KPOLICY_CUDA_CHECK(cudaEventSynchronize(g.stop));
    float ms = 0.0f;
    KPOLICY_CUDA_CHECK(cudaEventElapsedTime(&ms, g.start, g.stop));
    per_launch.push_back(1000.0 * ms / launches);
  }
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  return MedianOf(std::move(per_launch));
}

struct FlushedTimer::State {
  cudaStream_t stream = nullptr;  // not owned
  int repeats = 0;
  int64_t flush_bytes = 0;
  void* flush = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  ~State() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (flush) cudaFree(flush);
  }
};

FlushedTimer::FlushedTimer(std::unique_ptr<State> state) : state_(std::move(state)) {}
FlushedTimer::FlushedTimer(FlushedTimer&&) noexcept = default;
FlushedTimer& FlushedTimer::operator=(FlushedTimer&&) noexcept = default;
FlushedTimer::~FlushedTimer() = default;

int FlushedTimer::repeats() const { return state_->repeats; }
int64_t FlushedTimer::flush_bytes() const { return state_->flush_bytes; }

Expected<FlushedTimer> FlushedTimer::Create(StreamHandle stream, int repeats) {
  KPOLICY_CHECK_ARG(repeats >= 1);
  auto s = std::make_unique<State>();
  s->stream = static_cast<cudaStream_t>(stream);
  s->repeats = repeats;
  int device = 0, l2 = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  s->flush_bytes = 2 * std::max<int64_t>(l2, int64_t{1} << 20);
  KPOLICY_CUDA_CHECK(cudaMalloc(&s->flush, static_cast<size_t>(s->flush_bytes)));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&s->start));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&s->stop));
  return FlushedTimer(std::move(s));
}

Expected<double> FlushedTimer::Median(const EnqueueLaunch& enqueue) {
  State& s = *state_;
  std::vector<double> times;
  for (int i = 0; i < kTimingWarmups + s.repeats; ++i) {
    // A different byte each time, so no memset is elided as a repeat.
    KPOLICY_CUDA_CHECK(cudaMemsetAsync(s.flush, i & 0xFF, static_cast<size_t>(s.flush_bytes), s.stream));
    KPOLICY_CUDA_CHECK(cudaEventRecord(s.start, s.stream));
    KPOLICY_TRY(enqueue(s.stream, i));
    KPOLICY_CUDA_CHECK(cudaEventRecord(s.stop, s.stream));
    KPOLICY_CUDA_CHECK(cudaEventSynchronize(s.stop));
    KPOLICY_CUDA_CHECK(cudaGetLastError());
    float ms = 0.0f;
    KPOLICY_CUDA_CHECK(cudaEventElapsedTime(&ms, s.start, s.stop));
    if (i >= kTimingWarmups) times.push_back(1000.0 * ms);
  }
  return MedianOf(std::move(times));
}

}  // namespace kpolicy::kernels::gpu
