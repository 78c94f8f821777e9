// RunGemmPathOnHost / MedianGemmPathMicroseconds (gemm_runner.h).
#include "kpolicy/kernels/gemm_runner.h"

#include <algorithm>

#include "gemm_common.cuh"
#include "host_runner_support.cuh"
#include "kpolicy/kernels/kernel_timing.h"

namespace kpolicy::kernels::gpu {

using detail::DeviceMemory;

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

Expected<double> MedianGemmPathMicroseconds(GemmPath path, const WeightView& weights, int rows, int repeats) {
  if (rows < 1 || repeats < 1) return Fail(ArgumentError(__FILE__, __LINE__, "rows >= 1, repeats >= 1"));
  auto context = GemmContext::Create();
  if (!context.ok()) return Fail(context.error());
  auto w = GemmWeights::Create(*context, path, weights);
  if (!w.ok()) return Fail(w.error());
  const int64_t in_count = static_cast<int64_t>(rows) * weights.cols;
  DeviceMemory dx, dy;
  KPOLICY_CUDA_CHECK(cudaMalloc(&dx.ptr, sizeof(float) * in_count));
  KPOLICY_CUDA_CHECK(cudaMalloc(&dy.ptr, sizeof(float) * rows * weights.rows));
  std::vector<float> x(static_cast<size_t>(in_count));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 0.999f;  // finite, never all zero
  }
  KPOLICY_CUDA_CHECK(cudaMemcpy(dx.ptr, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice));
  auto timer = FlushedTimer::Create(context->stream(), repeats);
  if (!timer.ok()) return Fail(timer.error());
  return timer->Median([&](StreamHandle, int) {
    return RunGemm(*context, *w, static_cast<const float*>(dx.ptr), rows, static_cast<float*>(dy.ptr));
  });
}

}  // namespace kpolicy::kernels::gpu
