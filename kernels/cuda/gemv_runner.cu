#include "kpolicy/kernels/gemv_runner.h"

#include <cuda_runtime.h>

#include <algorithm>

#include "gemv_common.cuh"
#include "host_runner_support.cuh"
#include "kpolicy/kernels/kernel_timing.h"

namespace kpolicy::kernels::gpu {

using detail::DeviceMemory;

struct DeviceGemv::State {
  std::vector<std::unique_ptr<DeviceMemory>> weights;  // weights[0] is the one Run reads
  int64_t n = 0, k = 0, bytes = 0;
  DeviceMemory x, x_q8, y;
  int m_capacity = 0;

  Status Reserve(int m) {
    if (m <= m_capacity) return {};
    for (DeviceMemory* b : {&x, &x_q8, &y}) {
      if (b->ptr) cudaFree(b->ptr);
      b->ptr = nullptr;
    }
    KPOLICY_CUDA_CHECK(cudaMalloc(&x.ptr, sizeof(float) * m * k));
    KPOLICY_CUDA_CHECK(cudaMalloc(&x_q8.ptr, Q8_1ActivationBytes(m, k)));
    KPOLICY_CUDA_CHECK(cudaMalloc(&y.ptr, sizeof(float) * m * n));
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
  Status Launch(const GemvVariant& v, const void* w, int m, int mwv_warps) {
    if (v.quantizes_activations()) {
      KPOLICY_TRY(LaunchQuantizeQ8_1(static_cast<const float*>(x.ptr), m, k, x_q8.ptr, nullptr));
    }
    return v.launch(Args(v, w, m, mwv_warps));
  }
};

DeviceGemv::DeviceGemv(std::unique_ptr<State> state, const GemvVariant& variant)
    : state_(std::move(state)), variant_(&variant) {}
DeviceGemv::DeviceGemv(DeviceGemv&&) noexcept = default;
DeviceGemv& DeviceGemv::operator=(DeviceGemv&&) noexcept = default;
DeviceGemv::~DeviceGemv() = default;

Expected<int64_t> CurrentDeviceL2Bytes() {
  int device = 0, bytes = 0;
  KPOLICY_CUDA_CHECK(cudaGetDevice(&device));
  KPOLICY_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrL2CacheSize, device));
  return static_cast<int64_t>(bytes);
}

int64_t DeviceGemv::weight_bytes() const { return state_->bytes; }

Expected<DeviceGemv> DeviceGemv::Create(const GemvVariant& variant, const WeightView& weights) {
  if (!variant.built()) {
    return Fail(ErrorCode::kUnsupported, std::string(GemvOpName(variant.op)) + " " + std::string(variant.name) +
                                             ": this variant has no kernel (not built)");
  }
  const WeightFormat want = GemvOpFormat(variant.op);
  if (weights.format != want || weights.cols % 256 != 0 || weights.rows < 1) {
    return Fail(ArgumentError(__FILE__, __LINE__, "weights are N x K blocks of the variant's format"));
  }
  auto state = std::make_unique<State>();
  state->n = weights.rows;
  state->k = weights.cols;
  state->bytes = static_cast<int64_t>(weights.bytes.size());
  state->weights.push_back(std::make_unique<DeviceMemory>());
  KPOLICY_CUDA_CHECK(cudaMalloc(&state->weights[0]->ptr, weights.bytes.size()));
  KPOLICY_CUDA_CHECK(cudaMemcpy(state->weights[0]->ptr, weights.bytes.data(), weights.bytes.size(),
                                       cudaMemcpyHostToDevice));
  return DeviceGemv(std::move(state), variant);
}

Expected<std::vector<float>> DeviceGemv::Run(std::span<const float> x, int m, int mwv_warps) {
  State& s = *state_;
  if (m < 1 || m > kMaxGemvRows || static_cast<int64_t>(x.size()) != m * s.k) {
    return Fail(ArgumentError(__FILE__, __LINE__, "x is M x K with M in 1..8"));
  }
  KPOLICY_TRY(s.Reserve(m));
  KPOLICY_CUDA_CHECK(cudaMemcpy(s.x.ptr, x.data(), x.size_bytes(), cudaMemcpyHostToDevice));
  KPOLICY_CUDA_CHECK(cudaMemset(s.y.ptr, 0xFF, sizeof(float) * m * s.n));  // NaN
  KPOLICY_TRY(s.Launch(*variant_, s.weights[0]->ptr, m, mwv_warps));
  KPOLICY_CUDA_CHECK(cudaGetLastError());
  KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> y(static_cast<size_t>(m * s.n));
  KPOLICY_CUDA_CHECK(cudaMemcpy(y.data(), s.y.ptr, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
  return y;
}

Expected<double> DeviceGemv::MedianMicroseconds(int m, int mwv_warps, int replays, Quantisation quantisation) {
  State& s = *state_;
  if (m < 1 || m > kMaxGemvRows || replays < 1) {
    return Fail(ArgumentError(__FILE__, __LINE__, "m in 1..8, replays >= 1"));
  }
  KPOLICY_TRY(s.Reserve(m));
  // Activations: any finite values (the kernels' speed does not depend on them).
  std::vector<float> x(static_cast<size_t>(m * s.k));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  KPOLICY_CUDA_CHECK(cudaMemcpy(s.x.ptr, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice));
  const bool quantise_each = variant_->quantizes_activations() && quantisation == Quantisation::kIncluded;
  if (variant_->quantizes_activations()) {
    // Quantised once here; with kIncluded every launch quantises again.
    KPOLICY_TRY(LaunchQuantizeQ8_1(static_cast<const float*>(s.x.ptr), m, s.k, s.x_q8.ptr, nullptr));
    KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
  }
  auto l2 = CurrentDeviceL2Bytes();
  if (!l2.ok()) return Fail(std::move(l2).error());
  const int copies = WeightCopiesToDefeatL2(s.bytes, *l2);
  while (static_cast<int>(s.weights.size()) < copies) {
    auto copy = std::make_unique<DeviceMemory>();
    KPOLICY_CUDA_CHECK(cudaMalloc(&copy->ptr, s.bytes));
    KPOLICY_CUDA_CHECK(cudaMemcpy(copy->ptr, s.weights[0]->ptr, s.bytes, cudaMemcpyDeviceToDevice));
    s.weights.push_back(std::move(copy));
  }
  const GemvVariant& v = *variant_;
  const EnqueueLaunch launch = [&](StreamHandle stream, int i) -> Status {
    if (quantise_each) {
      KPOLICY_TRY(LaunchQuantizeQ8_1(static_cast<const float*>(s.x.ptr), m, s.k, s.x_q8.ptr, stream));
    }
    GemvArgs a = s.Args(v, s.weights[static_cast<size_t>(i % copies)]->ptr, m, mwv_warps);
    a.stream = stream;
    return v.launch(a);
  };
  return MedianGraphLaunchMicroseconds(launch, GraphLaunchesFor(copies), replays);
}

}  // namespace kpolicy::kernels::gpu
