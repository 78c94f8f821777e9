#include "kpolicy/kernels/gemv_runner.h"

#include <cuda_runtime.h>

#include <algorithm>

#include "gemv_common.cuh"
#include "host_runner_support.cuh"

namespace kpolicy::kernels::gpu {

using detail::DeviceMemory;

struct DeviceGemv::State {
  std::vector<std::unique_ptr<DeviceMemory>> weights;  // weights[0] is the one Run reads
  int64_t n = 0, k = 0, bytes = 0;
  DeviceMemory x, x_q8, y;
  int m_capacity = 0;

  CudaStatus Reserve(int m) {
    if (m <= m_capacity) return {};
    for (DeviceMemory* b : {&x, &x_q8, &y}) {
      if (b->ptr) cudaFree(b->ptr);
      b->ptr = nullptr;
    }
    KPOLICY_CUDA_TRY(cudaMalloc(&x.ptr, sizeof(float) * m * k));
    KPOLICY_CUDA_TRY(cudaMalloc(&x_q8.ptr, Q8_1ActivationBytes(m, k)));
    KPOLICY_CUDA_TRY(cudaMalloc(&y.ptr, sizeof(float) * m * n));
    m_capacity = m;
    return {};
  }

  GemvArgs Args(const GemvVariant& v, const void* w, int m, int mwv_warps) const {
    GemvArgs a;
    a.weights = w;
    a.x = static_cast<const float*>(x.ptr);
    a.x_q8 = x_q8.ptr;
    a.y = static_cast<float*>(y.ptr);
    a.n = n;
    a.k = k;
    a.m = m;
    a.mwv_warps = mwv_warps;
    (void)v;
    return a;
  }

  // Quantises (where the variant reads Q8_1) and launches.
  CudaStatus Launch(const GemvVariant& v, const void* w, int m, int mwv_warps) {
    if (v.quantizes_activations) {
      KPOLICY_RETURN_IF_ERROR(LaunchQuantizeQ8_1(static_cast<const float*>(x.ptr), m, k, x_q8.ptr, nullptr));
    }
    return v.launch(Args(v, w, m, mwv_warps));
  }
};

DeviceGemv::DeviceGemv(std::unique_ptr<State> state, const GemvVariant& variant)
    : state_(std::move(state)), variant_(&variant) {}
DeviceGemv::DeviceGemv(DeviceGemv&&) noexcept = default;
DeviceGemv& DeviceGemv::operator=(DeviceGemv&&) noexcept = default;
DeviceGemv::~DeviceGemv() = default;

int64_t DeviceGemv::weight_bytes() const { return state_->bytes; }

Expected<DeviceGemv, CudaStatus> DeviceGemv::Create(const GemvVariant& variant, const WeightView& weights) {
  const WeightFormat want = variant.op == GemvOp::kQ4K ? WeightFormat::kQ4K : WeightFormat::kQ6K;
  if (weights.format != want || weights.cols % 256 != 0 || weights.rows < 1) {
    return Fail(CudaStatus{static_cast<int>(cudaErrorInvalidValue), __FILE__, __LINE__,
                           "weights are not N x K blocks of the variant's format"});
  }
  auto state = std::make_unique<State>();
  state->n = weights.rows;
  state->k = weights.cols;
  state->bytes = static_cast<int64_t>(weights.bytes.size());
  state->weights.push_back(std::make_unique<DeviceMemory>());
  KPOLICY_CUDA_TRY_EXPECTED(cudaMalloc(&state->weights[0]->ptr, weights.bytes.size()));
  KPOLICY_CUDA_TRY_EXPECTED(cudaMemcpy(state->weights[0]->ptr, weights.bytes.data(), weights.bytes.size(),
                                       cudaMemcpyHostToDevice));
  return DeviceGemv(std::move(state), variant);
}

Expected<std::vector<float>, CudaStatus> DeviceGemv::Run(std::span<const float> x, int m, int mwv_warps) {
  State& s = *state_;
  if (m < 1 || m > kMaxGemvRows || static_cast<int64_t>(x.size()) != m * s.k) {
    return Fail(CudaStatus{static_cast<int>(cudaErrorInvalidValue), __FILE__, __LINE__,
                           "x is not M x K with M in 1..8"});
  }
  KPOLICY_STATUS_TRY_EXPECTED(s.Reserve(m));
  KPOLICY_CUDA_TRY_EXPECTED(cudaMemcpy(s.x.ptr, x.data(), x.size_bytes(), cudaMemcpyHostToDevice));
  KPOLICY_CUDA_TRY_EXPECTED(cudaMemset(s.y.ptr, 0xFF, sizeof(float) * m * s.n));  // NaN
  KPOLICY_STATUS_TRY_EXPECTED(s.Launch(*variant_, s.weights[0]->ptr, m, mwv_warps));
  KPOLICY_CUDA_TRY_EXPECTED(cudaGetLastError());
  KPOLICY_CUDA_TRY_EXPECTED(cudaDeviceSynchronize());
  std::vector<float> y(static_cast<size_t>(m * s.n));
  KPOLICY_CUDA_TRY_EXPECTED(cudaMemcpy(y.data(), s.y.ptr, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
  return y;
}

Expected<double, CudaStatus> DeviceGemv::MedianMicroseconds(int m, int mwv_warps, int copies, int repeats) {
  State& s = *state_;
  if (m < 1 || m > kMaxGemvRows || copies < 1 || repeats < 1) {
    return Fail(CudaStatus{static_cast<int>(cudaErrorInvalidValue), __FILE__, __LINE__,
                           "bad timing arguments"});
  }
  KPOLICY_STATUS_TRY_EXPECTED(s.Reserve(m));
  // Activations: any finite values (the kernels' speed does not depend on them).
  std::vector<float> x(static_cast<size_t>(m * s.k));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  KPOLICY_CUDA_TRY_EXPECTED(cudaMemcpy(s.x.ptr, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice));
  while (static_cast<int>(s.weights.size()) < copies) {
    auto copy = std::make_unique<DeviceMemory>();
    KPOLICY_CUDA_TRY_EXPECTED(cudaMalloc(&copy->ptr, s.bytes));
    KPOLICY_CUDA_TRY_EXPECTED(cudaMemcpy(copy->ptr, s.weights[0]->ptr, s.bytes, cudaMemcpyDeviceToDevice));
    s.weights.push_back(std::move(copy));
  }
  cudaEvent_t start = nullptr, stop = nullptr;
  KPOLICY_CUDA_TRY_EXPECTED(cudaEventCreate(&start));
  KPOLICY_CUDA_TRY_EXPECTED(cudaEventCreate(&stop));
  std::vector<double> times;
  CudaStatus status;
  for (int i = -copies; i < repeats && status.ok(); ++i) {  // the first round warms up
    const void* w = s.weights[(i + copies) % copies]->ptr;
    cudaError_t e = cudaEventRecord(start);
    if (e == cudaSuccess) status = s.Launch(*variant_, w, m, mwv_warps);
    if (e == cudaSuccess && status.ok()) e = cudaEventRecord(stop);
    if (e == cudaSuccess && status.ok()) e = cudaEventSynchronize(stop);
    float ms = 0;
    if (e == cudaSuccess && status.ok()) e = cudaEventElapsedTime(&ms, start, stop);
    if (e != cudaSuccess) status = CudaStatus{static_cast<int>(e), __FILE__, __LINE__, "timing a launch"};
    if (i >= 0) times.push_back(ms * 1000.0);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!status.ok()) return Fail(status);
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace kpolicy::kernels::gpu
