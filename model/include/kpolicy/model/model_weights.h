// ModelWeights: the tensors of a llama or gemma3 GGUF model, by llama.cpp's
// names (token_embd, blk.N.attn_q, ..., output_norm, output), checked
// against the ModelConfig's shapes when loaded. Matrices keep their raw
// GGUF bytes and type, so that each matrix-vector implementation (matvec.h:
// the CPU fp64 reference, a variant's CPU emulation, a GPU kernel) decodes
// or uploads them in its own way; the small vectors (norm weights) are
// decoded to double here, since every implementation uses them alike.
//
// Thread-safety: immutable after LoadModelWeights; concurrent const use is
// safe. Cost: the file's tensor bytes once in memory.
#ifndef KPOLICY_MODEL_MODEL_WEIGHTS_H_
#define KPOLICY_MODEL_MODEL_WEIGHTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gguf.h"
#include "kpolicy/model/config.h"

namespace kpolicy::model {

// One weight matrix W, rows x cols: y = W x takes cols inputs to rows
// outputs. GGUF dims are {cols, rows} (ne0, the contiguous one, first).
struct Matrix {
  std::string name;  // the GGUF tensor name, e.g. "blk.3.attn_q.weight"
  kernels::GgufTensor tensor;
  int64_t rows = 0;
  int64_t cols = 0;

  kernels::GgmlType type() const { return tensor.info.type; }
};

struct LayerWeights {
  std::vector<double> attn_norm;            // n_embd
  std::vector<double> attn_q_norm;          // head_dim_k, gemma3 only
  std::vector<double> attn_k_norm;          // head_dim_k, gemma3 only
  std::vector<double> post_attention_norm;  // n_embd, gemma3 only
  std::vector<double> ffn_norm;             // n_embd
  std::vector<double> post_ffw_norm;        // n_embd, gemma3 only
  Matrix attn_q;       // n_head * head_dim_k x n_embd
  Matrix attn_k;       // n_head_kv * head_dim_k x n_embd
  Matrix attn_v;       // n_head_kv * head_dim_v x n_embd
  Matrix attn_output;  // n_embd x n_head * head_dim_v
  Matrix ffn_gate;     // n_ff x n_embd
  Matrix ffn_up;       // n_ff x n_embd
  Matrix ffn_down;     // n_embd x n_ff
};

class ModelWeights {
 public:
  const std::string& file() const { return file_; }
  const Matrix& token_embd() const { return token_embd_; }  // n_vocab x n_embd
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const std::vector<double>& output_norm() const { return output_norm_; }
  // The output projection, n_vocab x n_embd: output.weight, or token_embd
  // itself when the file has none (tied embeddings, as llama.cpp does).
  const Matrix& output() const { return output_ ? *output_ : token_embd_; }
  bool output_tied() const { return !output_.has_value(); }
  // llama's rope_freqs.weight (Llama 3.x frequency factors, n_rot / 2
  // values dividing each pair's angle); empty when absent.
  const std::vector<double>& rope_freq_factors() const { return rope_freq_factors_; }

  // Every distinct matrix (the tied output once), in file order of layers.
  // Pointers into this object: valid while it lives and is not moved.
  std::vector<const Matrix*> matrices() const;

 private:
  friend Expected<ModelWeights> LoadModelWeights(const kernels::GgufFile& file, const ModelConfig& config);

  std::string file_;
  Matrix token_embd_;
  std::vector<LayerWeights> layers_;
  std::vector<double> output_norm_;
  std::optional<Matrix> output_;
  std::vector<double> rope_freq_factors_;
};

// Reads and checks every tensor the config's architecture needs. Errors
// (naming the file and the tensor): a missing tensor, a shape other than
// the config's, a type the decoder cannot decode (kUnsupported), bytes that
// cannot be read.
Expected<ModelWeights> LoadModelWeights(const kernels::GgufFile& file, const ModelConfig& config);

// A model file opened, its config read and its weights loaded.
struct Model {
  ModelConfig config;
  ModelWeights weights;
};

// Open + ReadModelConfig + LoadModelWeights. Errors as those give
// (unreadable, truncated or corrupt file, unsupported architecture, ...).
Expected<Model> LoadModel(const std::string& path);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_MODEL_WEIGHTS_H_
