// Decoder: the forward pass of a llama or gemma3 decoder-only transformer,
// in fp64 activations, with a KV cache. Every weight product goes through
// the MatVec it is given (matvec.h); everything else (embedding lookup,
// RMSNorm, RoPE, QK-norm, grouped-query attention with sliding windows,
// gated FFN, post-norms, logit softcapping) is computed here in double, so
// two decoders that differ only in their MatVec differ only in the matrix
// arithmetic.
//
// One layer, as llama.cpp's LLAMA and GEMMA3 graphs compute it:
//   h = RMSNorm(x) * attn_norm
//   q, k, v = Wq h, Wk h, Wv h                   (per head: q/k RMSNorm on gemma3)
//   q, k = RoPE(q, k, position)                  (gemma3 local layers: base 10000)
//   a = softmax(scale q.k over the cached positions in the window) v
//   o = Wo a                                     (gemma3: RMSNorm(o) * post_attention_norm)
//   x = x + o
//   h = RMSNorm(x) * ffn_norm
//   f = Wdown(act(Wgate h) * Wup h)              (gemma3: RMSNorm(f) * post_ffw_norm)
//   x = x + f
// then logits = Woutput(RMSNorm(x) * output_norm), softcapped when the
// config says so. Input: token_embd row * embedding_scale.
//
// Thread-safety: a Decoder is used by one thread at a time (it owns the KV
// cache); the config, weights and MatVec are borrowed and must outlive it.
// Cost per position: the weights' multiply-adds in the MatVec plus
// O(positions * n_head * head_dim) for attention; cache memory
// 8 * n_layer * n_head_kv * (head_dim_k + head_dim_v) bytes per position.
#ifndef KPOLICY_MODEL_DECODER_H_
#define KPOLICY_MODEL_DECODER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/model/config.h"
#include "kpolicy/model/matvec.h"
#include "kpolicy/model/model_weights.h"

namespace kpolicy::model {

class Decoder {
 public:
  Decoder(const ModelConfig& config, const ModelWeights& weights, MatVec& matvec)
      : config_(config), weights_(weights), matvec_(matvec), cache_(static_cast<size_t>(config.n_layer)) {}

  // The logits (n_vocab values) after `token` at `position`. position <=
  // positions(): the cache keeps positions [0, position) and drops the rest,
  // so a sequence can be rewound. Errors: a token outside [0, n_vocab), a
  // position past the cache, a MatVec failure; after an error the cache is
  // empty.
  Expected<std::vector<double>> Forward(int32_t token, int64_t position);

  // Logits for tokens[i] at position start + i, i in order, each matrix
  // applied to all the positions at once (a prefill). Same result as
  // calling Forward for each token in turn: each position attends to the
  // cache as it was after the previous one.
  Expected<std::vector<std::vector<double>>> ForwardBatch(std::span<const int32_t> tokens, int64_t start);

  int64_t positions() const { return positions_; }
  void Reset() { Truncate(0); }

  const ModelConfig& config() const { return config_; }

 private:
  struct LayerCache {
    std::vector<double> keys;    // positions x n_head_kv * head_dim_k
    std::vector<double> values;  // positions x n_head_kv * head_dim_v
  };

  Status RunBatch(std::span<const int32_t> tokens, int64_t start, std::vector<double>& logits);
  Status Embed(std::span<const int32_t> tokens, std::vector<double>& x) const;
  Status AttentionBlock(int64_t layer, int64_t start, int64_t count, std::vector<double>& x);
  Status FeedForwardBlock(int64_t layer, int64_t count, std::vector<double>& x);
  Status Logits(int64_t count, std::vector<double>& x, std::vector<double>& logits);
  Status Apply(const Matrix& matrix, const std::vector<double>& in, int64_t count, std::vector<double>& out);
  void Truncate(int64_t positions);

  const ModelConfig& config_;
  const ModelWeights& weights_;
  MatVec& matvec_;
  std::vector<LayerCache> cache_;
  int64_t positions_ = 0;
};

// Index of the largest value (the first of equal ones).
int32_t Argmax(std::span<const double> logits);

// The k indices of the largest values, largest first (ties: lower index
// first).
std::vector<int32_t> TopK(std::span<const double> logits, int k);

// Feeds `prompt` from position 0 (one batch), then greedily generates up to
// `max_new` tokens, stopping after a token in `stop`. Returns the generated
// tokens (prompt excluded).
Expected<std::vector<int32_t>> GreedyDecode(Decoder& decoder, std::span<const int32_t> prompt,
                                            int64_t max_new, std::span<const int32_t> stop = {});

// Teacher-forced run: logits at every position of `tokens` (row i predicts
// tokens[i + 1]), from position 0, in batches of `batch` positions (0: one
// batch).
Expected<std::vector<std::vector<double>>> TeacherForced(Decoder& decoder, std::span<const int32_t> tokens,
                                                         int64_t batch = 0);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_DECODER_H_
