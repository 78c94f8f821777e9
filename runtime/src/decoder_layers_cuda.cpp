// The GPU half of decoder_layers.h: weights resident per layer, launches
// enqueued back to back on one stream, CUDA events around the tokens.
#include <cuda_runtime_api.h>

#include <map>
#include <memory>

#include "decoder_layers_internal.h"
#include "kpolicy/kernels/gemv_registry.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::runtime::internal {
namespace {

namespace kn = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;

#define TRY_CUDA(expr)                                                                   \
  do {                                                                                   \
    const cudaError_t e_ = (expr);                                                       \
    if (e_ != cudaSuccess) return std::string(#expr) + ": " + cudaGetErrorString(e_);    \
  } while (0)
#define TRY_STATUS(expr)                                                                 \
  do {                                                                                   \
    const gpu::CudaStatus s_ = (expr);                                                   \
    if (!s_.ok()) return s_.ToString();                                                  \
  } while (0)

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
  const gpu::GemvVariant* kernel = nullptr;
  kn::WeightMatrix host;
  std::vector<std::unique_ptr<Buffer>> layers;  // one copy of the weights per layer
  Buffer y;
};

// One input width's activations: floats and their Q8_1 form.
struct InputVector {
  Buffer x, q8;
  std::vector<float> host;
};

class Stack {
 public:
  Stack(const DispatchTable& t, int layers) : t_(t), layers_(layers) {}

  std::string Upload(const std::vector<LayerMatrix>& matrices) {
    for (size_t i = 0; i < matrices.size(); ++i) {
      auto m = std::make_unique<Matrix>();
      m->shape = matrices[i];
      const bool q4k = m->shape.format == kn::WeightFormat::kQ4K;
      m->kernel = gpu::FindGemvVariant(q4k ? gpu::GemvOp::kQ4K : gpu::GemvOp::kQ6K, q4k ? t_.q4k : t_.q6k);
      if (!m->kernel) return "no kernel " + (q4k ? t_.q4k : t_.q6k);
      m->host = kn::RandomQuantizedWeights(100 + i, m->shape.format, m->shape.n, m->shape.k);
      for (int l = 0; l < layers_; ++l) {
        auto b = std::make_unique<Buffer>();
        TRY_CUDA(cudaMalloc(&b->ptr, m->host.bytes.size()));
        TRY_CUDA(cudaMemcpy(b->ptr, m->host.bytes.data(), m->host.bytes.size(), cudaMemcpyHostToDevice));
        m->layers.push_back(std::move(b));
      }
      TRY_CUDA(cudaMalloc(&m->y.ptr, sizeof(float) * m->shape.n));
      bytes_per_token_ += static_cast<int64_t>(m->host.bytes.size()) * layers_;
      if (!inputs_.count(m->shape.k)) {
        InputVector& in = inputs_[m->shape.k];
        in.host = Input(9, m->shape.k);
        TRY_CUDA(cudaMalloc(&in.x.ptr, sizeof(float) * m->shape.k));
        TRY_CUDA(cudaMalloc(&in.q8.ptr, gpu::Q8_1ActivationBytes(1, m->shape.k)));
        TRY_CUDA(cudaMemcpy(in.x.ptr, in.host.data(), sizeof(float) * m->shape.k, cudaMemcpyHostToDevice));
      }
      matrices_.push_back(std::move(m));
    }
    return "";
  }

  // One token through every layer, enqueued without waiting.
  std::string EnqueueToken() {
    for (int l = 0; l < layers_; ++l) {
      for (size_t i = 0; i < matrices_.size(); ++i) {
        Matrix& m = *matrices_[i];
        const bool gate = m.shape.name == "ffn_gate";
        if (m.shape.name == "ffn_up" && t_.fused_gate_up) continue;  // done with the gate
        InputVector& in = inputs_[m.shape.k];
        // A fresh input per GEMV group in a real model: quantise per launch
        // where the kernel reads Q8_1, so its cost is counted.
        if (m.kernel->quantizes_activations || (gate && t_.fused_gate_up)) {
          TRY_STATUS(gpu::LaunchQuantizeQ8_1(in.x.as<float>(), 1, m.shape.k, in.q8.ptr, nullptr));
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
          TRY_STATUS(gpu::LaunchFusedGateUpQ4kHwDp4a(a));
          continue;
        }
        gpu::GemvArgs a;
        a.weights = m.layers[l]->ptr;
        a.x = in.x.as<float>();
        a.x_q8 = in.q8.ptr;
        a.y = m.y.as<float>();
        a.n = m.shape.n;
        a.k = m.shape.k;
        a.m = 1;
        a.mwv_warps = t_.mwv_warps;
        TRY_STATUS(m.kernel->launch(a));
      }
    }
    return "";
  }

  // Layer 0's outputs for the stack's inputs, against the CPU.
  std::string Parity(std::vector<MatrixParity>& out) {
    TRY_CUDA(cudaDeviceSynchronize());
    for (size_t i = 0; i < matrices_.size(); ++i) {
      Matrix& m = *matrices_[i];
      if (m.shape.name == "ffn_up" && t_.fused_gate_up) continue;
      std::vector<float> y(static_cast<size_t>(m.shape.n));
      TRY_CUDA(cudaMemcpy(y.data(), m.y.ptr, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
      const std::vector<float>& x = inputs_[m.shape.k].host;
      const kn::VariantArithmetic& arithmetic = ArithmeticFor(t_, m.shape);
      std::vector<float> cpu = kn::RunVariantOnCpu(arithmetic, m.host.view(), x, 1);
      std::vector<double> ref = kn::ReferenceGemv(m.host.view(), x, 1);
      std::string name = m.shape.name, path = std::string(m.kernel->name);
      if (m.shape.name == "ffn_gate" && t_.fused_gate_up) {
        const Matrix& up = *matrices_[i + 1];
        cpu = Silu(cpu, kn::RunVariantOnCpu(arithmetic, up.host.view(), x, 1));
        ref = SiluReference(ref, kn::ReferenceGemv(up.host.view(), x, 1));
        name = "ffn_gate+up";
        path = "fused gate+up+SwiGLU (HwDp4a)";
      }
      out.push_back(Compare(name, path, ref, cpu, y));
    }
    return "";
  }

  int64_t bytes_per_token() const { return bytes_per_token_; }

 private:
  const DispatchTable& t_;
  int layers_;
  std::vector<std::unique_ptr<Matrix>> matrices_;
  std::map<int64_t, InputVector> inputs_;
  int64_t bytes_per_token_ = 0;
};

}  // namespace

Expected<LayerRunResult, std::string> RunOnGpu(const DispatchTable& t, const std::vector<LayerMatrix>& matrices,
                                               int layers, int tokens) {
  Stack stack(t, layers);
  if (std::string e = stack.Upload(matrices); !e.empty()) return Fail(e);
  if (std::string e = stack.EnqueueToken(); !e.empty()) return Fail(e);  // warm-up, and the parity run
  LayerRunResult r;
  if (std::string e = stack.Parity(r.parity); !e.empty()) return Fail(e);
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
    return Fail(std::string("cudaEventCreate failed"));
  }
  std::string error;
  cudaEventRecord(start);
  for (int token = 0; token < tokens && error.empty(); ++token) error = stack.EnqueueToken();
  cudaEventRecord(stop);
  const cudaError_t done = cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!error.empty()) return Fail(error);
  if (done != cudaSuccess) return Fail(std::string("kernels failed: ") + cudaGetErrorString(done));
  r.seconds = ms / 1e3;
  r.weight_bytes_per_token = stack.bytes_per_token();
  return r;
}

}  // namespace kpolicy::runtime::internal
