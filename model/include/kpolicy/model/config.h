// ModelConfig: the shape and hyperparameters of a decoder-only transformer,
// read from a GGUF file's metadata ({arch}.block_count, ...), for the two
// architectures the forward pass implements: llama (SmolLM2, Llama 2/3) and
// gemma3. Everything the forward pass branches on is a field here, decided
// once at load time, so the forward itself never looks at strings.
//
// Where the file is silent, the values are the ones llama.cpp's loader uses
// (cited beside each field). Thread-safety: a value type.
#ifndef KPOLICY_MODEL_CONFIG_H_
#define KPOLICY_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gguf.h"

namespace kpolicy::model {

enum class Architecture { kLlama, kGemma3 };

std::string_view ArchitectureName(Architecture arch);

// How RoPE pairs the dimensions of a head.
enum class RopeStyle {
  // Pairs (2i, 2i+1): ggml's "normal" mode, which llama.cpp uses for LLAMA
  // (its converter permutes the HF q/k weights so that this matches).
  kAdjacentPairs,
  // Pairs (i, i + n_rot/2): ggml's NEOX mode, llama.cpp's choice for the
  // Gemma family.
  kHalfSplit,
};

enum class FeedForwardActivation {
  kSilu,      // llama: down(silu(gate x) * up x)
  kGeluTanh,  // gemma3: down(gelu_tanh(gate x) * up x), ggml_gelu's tanh form
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  int64_t n_layer = 0;
  int64_t n_embd = 0;       // d_model
  int64_t n_ff = 0;         // feed-forward inner width
  int64_t n_head = 0;       // query heads
  int64_t n_head_kv = 0;    // key/value heads; n_head % n_head_kv == 0 (GQA)
  int64_t head_dim_k = 0;   // attention.key_length, else n_embd / n_head
  int64_t head_dim_v = 0;   // attention.value_length, else head_dim_k
  int64_t n_rot = 0;        // rope.dimension_count, else head_dim_k
  int64_t n_vocab = 0;      // rows of token_embd
  int64_t context_length = 0;
  double rms_eps = 1e-5;
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  double rope_base = 10000.0;        // rope.freq_base: global (non-sliding) layers
  double rope_base_sliding = 10000.0;  // gemma3's local layers: llama.cpp fixes 10000
  // Positions are multiplied by this before RoPE on global layers (linear
  // rope scaling: 1 / rope.scaling.factor); sliding layers use 1.
  double rope_position_scale = 1.0;
  // Sliding-window attention: a layer with is_sliding(layer) attends to
  // keys with query_pos - key_pos < sliding_window. 0: no sliding layers.
  int64_t sliding_window = 0;
  // Gemma 3 alternates five sliding layers with one global layer (layer
  // index % 6 == 5 is global): llama.cpp's set_swa_pattern(6) for GEMMA3.
  int64_t sliding_period = 0;
  double attention_scale = 0.0;      // multiplies q·k; 1/sqrt(head_dim_k) unless gemma3 27B
  double embedding_scale = 1.0;      // gemma3: sqrt(n_embd)
  double final_logit_softcap = 0.0;  // 0: none; else logits = c * tanh(logits / c)
  FeedForwardActivation activation = FeedForwardActivation::kSilu;
  bool qk_norm = false;     // gemma3: RMSNorm over each q and k head
  bool post_norms = false;  // gemma3: post_attention_norm and post_ffw_norm

  bool is_sliding(int64_t layer) const {
    return sliding_window > 0 && sliding_period > 0 && layer % sliding_period != sliding_period - 1;
  }
};

// Reads the config of `file`. n_vocab is taken from the token embedding's
// shape (the tensor infos; no tensor data is read). Errors (each naming the
// file and the key or tensor): general.architecture missing or not one of
// llama, gemma3 (kUnsupported, naming it); a required key missing, of the
// wrong type or out of range; shapes that do not divide (n_head by
// n_head_kv, n_rot odd or above head_dim_k).
Expected<ModelConfig> ReadModelConfig(const kernels::GgufFile& file);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_CONFIG_H_
