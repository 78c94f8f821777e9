#include "decoder_layers.h"

#include <chrono>
#include <cmath>

#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/workload.h"
#include "decoder_layers_internal.h"

namespace kpolicy::demo {

namespace kn = kpolicy::kernels;

std::vector<std::string> DecoderLayerModels() { return {"qwen2.5-1.5b", "llama-3-8b"}; }

std::vector<LayerMatrix> DecoderLayerMatrices(std::string_view model) {
  using kn::WeightFormat;
  // Grouped-query attention: k and v project to kv_heads * head_dim.
  auto layer = [](int64_t d, int64_t kv, int64_t ff) {
    return std::vector<LayerMatrix>{{"attn_q", d, d, WeightFormat::kQ4K},     {"attn_k", kv, d, WeightFormat::kQ4K},
                                    {"attn_v", kv, d, WeightFormat::kQ4K},    {"attn_output", d, d, WeightFormat::kQ4K},
                                    {"ffn_gate", ff, d, WeightFormat::kQ4K},  {"ffn_up", ff, d, WeightFormat::kQ4K},
                                    {"ffn_down", d, ff, WeightFormat::kQ6K}};
  };
  if (model == "qwen2.5-1.5b") return layer(1536, 256, 8960);
  if (model == "llama-3-8b") return layer(4096, 1024, 14336);
  return {};
}

namespace internal {

const kn::GemvVariant& VariantFor(const DispatchTable& t, const LayerMatrix& m) {
  return *t.gemv_kernel(m.format == kn::WeightFormat::kQ4K ? kn::GemvOp::kQ4K : kn::GemvOp::kQ6K);
}

std::vector<float> Silu(std::span<const float> gate, std::span<const float> up) {
  std::vector<float> out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  return out;
}

std::vector<double> SiluReference(std::span<const double> gate, std::span<const double> up) {
  std::vector<double> out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
  return out;
}

MatrixParity Compare(const std::string& name, const std::string& path, std::span<const double> reference,
                     std::span<const float> cpu, std::span<const float> candidate) {
  MatrixParity p;
  p.name = name;
  p.path = path;
  p.cosine_vs_reference = kn::ComputeParity(reference, candidate).cosine;
  p.error_vs_cpu = kn::ComputeParity(cpu, candidate).relative_l2_error;
  return p;
}

std::vector<float> Input(uint64_t seed, int64_t k) { return kn::GaussianVector(seed, k); }

}  // namespace internal

namespace {

// The CPU path: each GEMV in its variant's arithmetic, one token after another.
LayerRunResult RunOnCpu(const DispatchTable& t, const std::vector<LayerMatrix>& matrices, int layers, int tokens) {
  using namespace internal;
  std::vector<kn::WeightMatrix> weights;
  LayerRunResult r;
  for (size_t i = 0; i < matrices.size(); ++i) {
    weights.push_back(kn::RandomQuantizedWeights(100 + i, matrices[i].format, matrices[i].n, matrices[i].k));
    r.weight_bytes_per_token += static_cast<int64_t>(weights.back().bytes.size()) * layers;
  }
  const auto start = std::chrono::steady_clock::now();
  for (int token = 0; token < tokens; ++token) {
    for (int layer = 0; layer < layers; ++layer) {
      for (size_t i = 0; i < matrices.size(); ++i) {
        const std::vector<float> x = Input(7 + token, matrices[i].k);
        const std::vector<float> y = VariantFor(t, matrices[i]).emulate(weights[i].view(), x, 1);
        if (token == 0 && layer == 0) {
          // The candidate is the CPU run of the variant's arithmetic: only
          // the fp64 reference is something else to compare it with.
          MatrixParity p;
          p.name = matrices[i].name;
          p.path = "cpu " + std::string(VariantFor(t, matrices[i]).name);
          p.cosine_vs_reference = kn::ComputeParity(kn::ReferenceGemv(weights[i].view(), x, 1), y).cosine;
          r.parity.push_back(std::move(p));
        }
      }
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.decode_path = "each variant's arithmetic on the CPU";
  return r;
}

}  // namespace

Expected<LayerRunResult> RunDecoderLayers(const DispatchTable& table, std::string_view model, int layers,
                                          int tokens, int prefill_tokens) {
  const std::vector<LayerMatrix> matrices = DecoderLayerMatrices(model);
  if (matrices.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "unknown model '" + std::string(model) + "' (qwen2.5-1.5b, llama-3-8b)");
  }
  if (layers < 1 || tokens < 1) return Fail(ErrorCode::kInvalidArgument, "layers and tokens must be at least 1");
  if (!table.gemv_kernel(kn::GemvOp::kQ4K) || !table.gemv_kernel(kn::GemvOp::kQ6K)) {
    return Fail(ErrorCode::kInvalidArgument, "the dispatch table binds no GEMV kernels (not built by BuildDispatch)");
  }
  Expected<LayerRunResult> r =
      table.gpu ? internal::RunOnGpu(table, matrices, layers, tokens, prefill_tokens)
                : RunOnCpu(table, matrices, layers, tokens);
  if (!r.ok()) return r;
  r->gpu = table.gpu;
  r->layers = layers;
  r->tokens = tokens;
  r->tokens_per_second = tokens / r->seconds;
  r->weight_gbps = static_cast<double>(r->weight_bytes_per_token) * tokens / r->seconds / 1e9;
  return r;
}

}  // namespace kpolicy::demo
