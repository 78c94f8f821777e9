// A stack of transformer decoder layers' GEMVs run with the dispatched
// kernels: what `policyctl run` shows. Per layer and token: attention q, k,
// v and o; FFN gate and up (one fused kernel where fused_gate_up); FFN down,
// in Q6_K as Q4_K_M files keep it. Attention itself, norms and the SwiGLU
// of the unfused path are not computed: each GEMV reads a fixed activation
// vector of its input width (quantised to Q8_1 per token where the variant
// reads that), so the time measured is the weight streaming the policy's
// kernel choices decide. Each layer has weights of its own in memory.
//
// A demo of the tools (`policyctl run`), not part of the runtime a server
// links: it lives in tools/demo/ (library kpolicy_decoder_demo).
//
// Thread-safety: uses the current CUDA device; one call at a time.
#ifndef KPOLICY_TOOLS_DEMO_DECODER_LAYERS_H_
#define KPOLICY_TOOLS_DEMO_DECODER_LAYERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/weights.h"
#include "kpolicy/runtime/dispatch.h"

namespace kpolicy::demo {

using runtime::DispatchTable;

struct LayerMatrix {
  std::string name;  // "attn_q", "ffn_down"
  int64_t n = 0;     // outputs
  int64_t k = 0;     // inputs
  kernels::WeightFormat format = kernels::WeightFormat::kQ4K;
};

// The GEMVs of one decoder layer of "qwen2.5-1.5b" or "llama-3-8b"; empty
// for another name.
std::vector<LayerMatrix> DecoderLayerMatrices(std::string_view model);
std::vector<std::string> DecoderLayerModels();

struct MatrixParity {
  std::string name;
  std::string path;                 // "q4k HwDp4a", "fused gate+up (HwDp4a)"
  double cosine_vs_reference = 0;   // against the fp64 CPU reference
  // Relative L2 against the CPU run of the variant's arithmetic; none on
  // the CPU path, where that run is the candidate itself.
  std::optional<double> error_vs_cpu;
};

struct LayerRunResult {
  bool gpu = false;
  std::string decode_path;          // "GEMV q4k HwDp4a / q6k HwDp4a" or "HGEMM (cuBLAS FP16)"
  // Prefill of `prefill_tokens` tokens through every layer with the path
  // batched_prefill and fp8_prefill select (GPU only; 0 tokens: not run).
  std::string prefill_path;         // "fp8_lt", "f16_cublas", "gemv_loop"
  int prefill_tokens = 0;
  double prefill_seconds = 0;
  double prefill_tflops = 0;
  int layers = 0;
  int tokens = 0;
  double seconds = 0;               // all tokens through all layers
  double tokens_per_second = 0;
  double weight_gbps = 0;           // weight bytes read per second
  int64_t weight_bytes_per_token = 0;
  std::vector<MatrixParity> parity; // layer 0, one token
};

// Runs `tokens` tokens (M = 1 decode) through `layers` layers of `model`,
// after a prefill of `prefill_tokens` (GPU only). GPU kernels when
// table.gpu, else the CPU runs each variant's arithmetic. Decode uses the
// GEMV variants, or cuBLAS HGEMM where hgemm_decode; prefill one GEMM per
// matrix (FP8 cuBLASLt where fp8_prefill, else FP16 cuBLAS) where
// batched_prefill, else one GEMV per token.
Expected<LayerRunResult> RunDecoderLayers(const DispatchTable& table, std::string_view model, int layers, int tokens, int prefill_tokens = 0);

}  // namespace kpolicy::demo

#endif  // KPOLICY_TOOLS_DEMO_DECODER_LAYERS_H_
