// The GPU half of decoder_layers.h: weights resident per layer, launches
// enqueued back to back on one stream, CUDA events around the tokens.
#include <cuda_runtime_api.h>

#include <map>
#include <algorithm>
#include <memory>
#include <optional>

#include "decoder_layers_internal.h"
#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/gemm_context.h"
#include "kpolicy/kernels/gemm_paths.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::demo::internal {
namespace {

namespace kn = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;

// Device memory freed on destruction.
struct Buffer {
  void* ptr = nullptr;
  ~Buffer() {
    if (ptr) cudaFree(ptr);
  }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr); }
};

struct Matrix {
  LayerMatrix shape;
  const kn::GemvVariant* kernel = nullptr;
  kn::WeightMatrix host;
  std::vector<std::unique_ptr<Buffer>> layers;  // one copy of the weights per layer
  std::vector<gpu::GemmWeights> gemm_layers;     // per layer, where decode runs a GEMM path
  Buffer y;
};

// One input width's activations: floats and their Q8_1 form.
struct InputVector {
  Buffer x, q8;
  std::vector<float> host;
};

class Stack {
 public:
  Stack(const DispatchTable& t, int layers, gpu::GemmContext* gemm) : t_(t), layers_(layers), gemm_(gemm) {}

  Status Upload(const std::vector<LayerMatrix>& matrices) {
    for (size_t i = 0; i < matrices.size(); ++i) {
      auto m = std::make_unique<Matrix>();
      m->shape = matrices[i];
      const bool q4k = m->shape.format == kn::WeightFormat::kQ4K;
      m->kernel = &VariantFor(t_, m->shape);
      m->host = kn::RandomQuantizedWeights(100 + i, m->shape.format, m->shape.n, m->shape.k);
      const std::optional<gpu::GemmPath> decode =
          gpu::DecodeGemmPath(1, q4k, t_.fp8_decode, t_.hgemm_decode, t_.w4a16_interleaved);
      for (int l = 0; l < layers_; ++l) {
        if (decode) {
          auto w = gpu::GemmWeights::Create(*gemm_, *decode, m->host.view());
          if (!w.ok()) return Fail(w.error());
          m->gemm_layers.push_back(std::move(w).value());
          continue;
        }
        auto b = std::make_unique<Buffer>();
        KPOLICY_CUDA_CHECK(cudaMalloc(&b->ptr, m->host.bytes.size()));
        KPOLICY_CUDA_CHECK(cudaMemcpy(b->ptr, m->host.bytes.data(), m->host.bytes.size(), cudaMemcpyHostToDevice));
        m->layers.push_back(std::move(b));
      }
      KPOLICY_CUDA_CHECK(cudaMalloc(&m->y.ptr, sizeof(float) * m->shape.n));
      bytes_per_token_ += static_cast<int64_t>(m->host.bytes.size()) * layers_;
      if (!inputs_.count(m->shape.k)) {
        InputVector& in = inputs_[m->shape.k];
        in.host = Input(9, m->shape.k);
        KPOLICY_CUDA_CHECK(cudaMalloc(&in.x.ptr, sizeof(float) * m->shape.k));
        KPOLICY_CUDA_CHECK(cudaMalloc(&in.q8.ptr, gpu::Q8_1ActivationBytes(1, m->shape.k)));
        KPOLICY_CUDA_CHECK(cudaMemcpy(in.x.ptr, in.host.data(), sizeof(float) * m->shape.k, cudaMemcpyHostToDevice));
      }
      matrices_.push_back(std::move(m));
    }
    return {};
  }

  // One token through every layer, enqueued without waiting.
  Status EnqueueToken() {
    for (int l = 0; l < layers_; ++l) {
      for (size_t i = 0; i < matrices_.size(); ++i) {
        Matrix& m = *matrices_[i];
        const bool gate = m.shape.name == "ffn_gate";
        if (m.shape.name == "ffn_up" && t_.fused_gate_up) continue;  // done with the gate
        InputVector& in = inputs_[m.shape.k];
        if (!m.gemm_layers.empty()) {  // hgemm_decode: cuBLAS on cached FP16 weights
          KPOLICY_TRY(gpu::RunGemm(*gemm_, m.gemm_layers[l], in.x.as<float>(), 1, m.y.as<float>()));
          continue;
        }
        // A fresh input per GEMV group in a real model: quantise per launch
        // where the kernel reads Q8_1, so its cost is counted.
        if (m.kernel->quantizes_activations() || (gate && t_.fused_gate_up)) {
          KPOLICY_TRY(gpu::LaunchQuantizeQ8_1(in.x.as<float>(), 1, m.shape.k, in.q8.ptr, nullptr));
        }
        if (gate && t_.fused_gate_up) {
          Matrix& up = *matrices_[i + 1];
          gpu::FusedGateUpArgs a;
          a.gate = m.layers[l]->ptr;
          a.up = up.layers[l]->ptr;
          a.x_q8 = in.q8.ptr;
          a.y = m.y.as<float>();
          a.n = m.shape.n;
          a.k = m.shape.k;
          KPOLICY_TRY(gpu::LaunchFusedGateUpQ4kHwDp4a(a));
          continue;
        }
        kn::GemvArgs a;
        a.weights = m.layers[l]->ptr;
        a.x = in.x.as<float>();
        a.x_q8 = in.q8.ptr;
        a.y = m.y.as<float>();
        a.n = m.shape.n;
        a.k = m.shape.k;
        a.m = 1;
        a.mwv_warps = t_.mwv_warps;
        KPOLICY_TRY(m.kernel->launch(a));
      }
    }
    return {};
  }

  // Layer 0's outputs for the stack's inputs, against the CPU.
  Status Parity(std::vector<MatrixParity>& out) {
    KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
    for (size_t i = 0; i < matrices_.size(); ++i) {
      Matrix& m = *matrices_[i];
      if (m.shape.name == "ffn_up" && t_.fused_gate_up) continue;
      std::vector<float> y(static_cast<size_t>(m.shape.n));
      KPOLICY_CUDA_CHECK(cudaMemcpy(y.data(), m.y.ptr, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
      const std::vector<float>& x = inputs_[m.shape.k].host;
      std::vector<float> cpu = m.kernel->emulate(m.host.view(), x, 1);
      std::vector<double> ref = kn::ReferenceGemv(m.host.view(), x, 1);
      std::string name = m.shape.name, path = std::string(m.kernel->name);
      if (!m.gemm_layers.empty()) {
        // The GEMM path's own arithmetic (FP16 rounding) has no CPU twin
        // here: compare it with the fp64 reference alone.
        path = std::string(gpu::GemmPathName(m.gemm_layers[0].path()));
        out.push_back(Compare(name, path, ref, std::vector<float>(ref.begin(), ref.end()), y));
        continue;
      }
      if (m.shape.name == "ffn_gate" && t_.fused_gate_up) {
        const Matrix& up = *matrices_[i + 1];
        cpu = Silu(cpu, m.kernel->emulate(up.host.view(), x, 1));
        ref = SiluReference(ref, kn::ReferenceGemv(up.host.view(), x, 1));
        name = "ffn_gate+up";
        path = "fused gate+up+SwiGLU (HwDp4a)";
      }
      out.push_back(Compare(name, path, ref, cpu, y));
    }
    return {};
  }

  int64_t bytes_per_token() const { return bytes_per_token_; }

  std::string DecodePath() const {
    if (!matrices_.empty() && !matrices_[0]->gemm_layers.empty()) {
      return std::string(gpu::GemmPathName(matrices_[0]->gemm_layers[0].path())) + " (hgemm_decode)";
    }
    return "GEMV q4k " + t_.q4k + ", q6k " + t_.q6k + (t_.fused_gate_up ? ", fused gate+up" : "");
  }

  // `tokens` prompt tokens through every layer, one call per matrix with the
  // prefill path. Layer l reuses layer 0's prepared weights: the path's
  // weight preparation (FP8 or FP16 conversion) is host work done once.
  Status Prefill(int tokens, gpu::GemmPath path, double& seconds, double& flops) {
    std::vector<gpu::GemmWeights> weights;
    Buffer x, y;
    int64_t widest = 0;
    for (const auto& m : matrices_) {
      auto w = gpu::GemmWeights::Create(*gemm_, path, m->host.view());
      if (!w.ok()) return Fail(w.error());
      weights.push_back(std::move(w).value());
      widest = std::max({widest, m->shape.n, m->shape.k});
      flops += 2.0 * m->shape.n * m->shape.k * tokens * layers_;
    }
    KPOLICY_CUDA_CHECK(cudaMalloc(&x.ptr, sizeof(float) * widest * tokens));
    KPOLICY_CUDA_CHECK(cudaMalloc(&y.ptr, sizeof(float) * widest * tokens));
    std::vector<float> host(static_cast<size_t>(widest * tokens));
    for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    KPOLICY_CUDA_CHECK(cudaMemcpy(x.ptr, host.data(), sizeof(float) * host.size(), cudaMemcpyHostToDevice));
    auto pass = [&]() -> Status {
      for (int l = 0; l < layers_; ++l) {
        for (const gpu::GemmWeights& w : weights) KPOLICY_TRY(gpu::RunGemm(*gemm_, w, x.as<float>(), tokens, y.as<float>()));
      }
      return {};
    };
    KPOLICY_TRY(pass());  // warm-up: plans, scratch
    KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
    cudaEvent_t start = nullptr, stop = nullptr;
    KPOLICY_CUDA_CHECK(cudaEventCreate(&start));
    KPOLICY_CUDA_CHECK(cudaEventCreate(&stop));
    cudaEventRecord(start, static_cast<cudaStream_t>(gemm_->stream()));
    Status error = pass();
    cudaEventRecord(stop, static_cast<cudaStream_t>(gemm_->stream()));
    const cudaError_t done = cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    if (!error.ok()) return error;
    KPOLICY_CUDA_CHECK(done);
    seconds = ms / 1e3;
    return {};
  }

 private:
  const DispatchTable& t_;
  int layers_;
  gpu::GemmContext* gemm_;
  std::vector<std::unique_ptr<Matrix>> matrices_;
  std::map<int64_t, InputVector> inputs_;
  int64_t bytes_per_token_ = 0;
};

}  // namespace

Expected<LayerRunResult> RunOnGpu(const DispatchTable& t, const std::vector<LayerMatrix>& matrices, int layers,
                                  int tokens, int prefill_tokens) {
  auto gemm = gpu::GemmContext::Create();
  if (!gemm.ok()) return Fail(ErrorCode::kDevice, "cuBLAS: " + gemm.error().ToString());
  Stack stack(t, layers, &*gemm);
  KPOLICY_TRY(stack.Upload(matrices));
  KPOLICY_TRY(stack.EnqueueToken());  // warm-up, and the parity run
  LayerRunResult r;
  KPOLICY_TRY(stack.Parity(r.parity));
  cudaEvent_t start = nullptr, stop = nullptr;
  KPOLICY_CUDA_CHECK(cudaEventCreate(&start));
  KPOLICY_CUDA_CHECK(cudaEventCreate(&stop));
  Status error;
  cudaEventRecord(start);
  for (int token = 0; token < tokens && error.ok(); ++token) error = stack.EnqueueToken();
  cudaEventRecord(stop);
  const cudaError_t done = cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!error.ok()) return Fail(std::move(error).error());
  KPOLICY_CUDA_CHECK(done);
  r.seconds = ms / 1e3;
  r.weight_bytes_per_token = stack.bytes_per_token();
  r.decode_path = stack.DecodePath();
  if (prefill_tokens > 0) {
    const gpu::GemmPath path = gpu::PrefillGemmPath(t.batched_prefill, t.fp8_prefill);
    double flops = 0;
    if (Status e = stack.Prefill(prefill_tokens, path, r.prefill_seconds, flops); !e.ok()) {
      Error prefill = std::move(e).error();
      prefill.message = "prefill: " + prefill.message;
      return Fail(std::move(prefill));
    }
    r.prefill_path = std::string(gpu::GemmPathName(path));
    r.prefill_tokens = prefill_tokens;
    r.prefill_tflops = flops / r.prefill_seconds / 1e12;
  }
  return r;
}

}  // namespace kpolicy::demo::internal
