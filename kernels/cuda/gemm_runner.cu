// RunGemmPathOnHost / MedianGemmPathMicroseconds (gemm_runner.h).
#include "kpolicy/kernels/gemm_runner.h"

#include <algorithm>

#include "gemm_common.cuh"
#include "host_runner_support.cuh"

namespace kpolicy::kernels::gpu {
namespace {

using detail::DeviceMemory;

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  ~Events() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

}  // namespace

Expected<std::vector<float>> RunGemmPathOnHost(GemmPath path, const WeightView& weights,
                                                           std::span<const float> x, int rows) {
  if (rows < 1 || static_cast<int64_t>(x.size()) != rows * weights.cols) {
    return Fail(ArgumentError(__FILE__, __LINE__, "x is rows x K"));
  }
  auto context = GemmContext::Create();
  if (!context.ok()) return Fail(context.error());
  auto w = GemmWeights::Create(*context, path, weights);
  if (!w.ok()) return Fail(w.error());
  const int64_t out_count = static_cast<int64_t>(rows) * weights.rows;
  DeviceMemory dx, dy;
  KPOLICY_CUDA_CHECK(cudaMalloc(&dx.ptr, x.size_bytes()));
  KPOLICY_CUDA_CHECK(cudaMalloc(&dy.ptr, sizeof(float) * out_count));
  KPOLICY_CUDA_CHECK(cudaMemcpy(dx.ptr, x.data(), x.size_bytes(), cudaMemcpyHostToDevice));
  KPOLICY_CUDA_CHECK(cudaMemset(dy.ptr, 0xFF, sizeof(float) * out_count));  // NaN
  KPOLICY_TRY(RunGemm(*context, *w, static_cast<const float*>(dx.ptr), rows,
                                    static_cast<float*>(dy.ptr)));
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> y(static_cast<size_t>(out_count));
  KPOLICY_CUDA_CHECK(cudaMemcpy(y.data(), dy.ptr, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
  return y;
}

Expected<double> MedianGemmPathMicroseconds(GemmPath path, const WeightView& weights, int rows,
                                                        int repeats, int warmup) {
  if (rows < 1 || repeats < 1 || warmup < 0) {
    return Fail(ArgumentError(__FILE__, __LINE__, "rows >= 1, repeats >= 1, warmup >= 0"));
  }
  auto context = GemmContext::Create();
  if (!context.ok()) return Fail(context.error());
  auto w = GemmWeights::Create(*context, path, weights);
  if (!w.ok()) return Fail(w.error());
  const int64_t in_count = static_cast<int64_t>(rows) * weights.cols;
  DeviceMemory dx, dy, flush;
  KPOLICY_CUDA_CHECK(cudaMalloc(&dx.ptr, sizeof(float) * in_count));
  KPOLICY_CUDA_CHECK(cudaMalloc(&dy.ptr, sizeof(float) * rows * weights.rows));
  std::vector<float> x(static_cast<size_t>(in_count));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 0.999f;  // finite, never all zero
  }
  KPOLICY_CUDA_CHECK(cudaMemcpy(dx.ptr, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice));
  int device = 0, l2 = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  const size_t flush_bytes = 2 * static_cast<size_t>(std::max(l2, 1 << 20));
  KPOLICY_CUDA_CHECK(cudaMalloc(&flush.ptr, flush_bytes));
  Events ev;
  KPOLICY_CUDA_CHECK(cudaEventCreate(&ev.start));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&ev.stop));
  const cudaStream_t stream = static_cast<cudaStream_t>(context->stream());
  std::vector<double> times;
  for (int i = -warmup; i < repeats; ++i) {
    KPOLICY_CUDA_CHECK(cudaMemsetAsync(flush.ptr, i & 0xFF, flush_bytes, stream));
    KPOLICY_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    KPOLICY_TRY(RunGemm(*context, *w, static_cast<const float*>(dx.ptr), rows,
                                      static_cast<float*>(dy.ptr)));
    KPOLICY_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    KPOLICY_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    float ms = 0.0f;
    KPOLICY_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.start, ev.stop));
    if (i >= 0) times.push_back(1000.0 * ms);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace kpolicy::kernels::gpu
