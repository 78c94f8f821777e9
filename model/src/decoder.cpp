#include "kpolicy/model/decoder.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "kpolicy/kernels/ggml_decode.h"
#include "kpolicy/model/ops.h"

namespace kpolicy::model {
namespace {

// RMSNorm over each of `count` consecutive rows of `width` values.
void NormRows(std::vector<double>& x, int64_t count, int64_t width, std::span<const double> weight,
              double eps) {
  for (int64_t p = 0; p < count; ++p) {
    RmsNorm(std::span<double>(x).subspan(static_cast<size_t>(p * width), static_cast<size_t>(width)),
            weight, eps);
  }
}

void AddInto(std::vector<double>& x, const std::vector<double>& delta) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += delta[i];
}

}  // namespace

Expected<std::vector<double>> Decoder::Forward(int32_t token, int64_t position) {
  Expected<std::vector<std::vector<double>>> logits = ForwardBatch(std::span<const int32_t>(&token, 1), position);
  KPOLICY_TRY(logits);
  return std::move(logits->front());
}

Expected<std::vector<std::vector<double>>> Decoder::ForwardBatch(std::span<const int32_t> tokens,
                                                                 int64_t start) {
  if (start < 0 || start > positions_) {
    return Fail(ErrorCode::kInvalidArgument, "position " + std::to_string(start) +
                                                 " is past the cache, which holds " +
                                                 std::to_string(positions_) + " positions");
  }
  if (tokens.empty()) return std::vector<std::vector<double>>();
  for (int32_t token : tokens) {
    if (token < 0 || token >= config_.n_vocab) {
      return Fail(ErrorCode::kInvalidArgument, "token " + std::to_string(token) + " is outside the vocabulary [0, " +
                                                   std::to_string(config_.n_vocab) + ")");
    }
  }
  Truncate(start);
  std::vector<double> flat;
  Status run = RunBatch(tokens, start, flat);
  if (!run.ok()) {
    Reset();
    return Fail(std::move(run).error());
  }
  positions_ = start + static_cast<int64_t>(tokens.size());
  std::vector<std::vector<double>> logits(tokens.size());
  for (size_t p = 0; p < tokens.size(); ++p) {
    auto row = flat.begin() + static_cast<std::ptrdiff_t>(p * static_cast<size_t>(config_.n_vocab));
    logits[p].assign(row, row + config_.n_vocab);
  }
  return logits;
}

Status Decoder::RunBatch(std::span<const int32_t> tokens, int64_t start, std::vector<double>& logits) {
  const int64_t count = static_cast<int64_t>(tokens.size());
  std::vector<double> x;
  KPOLICY_TRY(Embed(tokens, x));
  for (int64_t layer = 0; layer < config_.n_layer; ++layer) {
    KPOLICY_TRY(AttentionBlock(layer, start, count, x));
    KPOLICY_TRY(FeedForwardBlock(layer, count, x));
  }
  return Logits(count, x, logits);
}

Status Decoder::Embed(std::span<const int32_t> tokens, std::vector<double>& x) const {
  const int64_t d = config_.n_embd;
  std::vector<float> row(static_cast<size_t>(d));
  x.resize(tokens.size() * static_cast<size_t>(d));
  for (size_t p = 0; p < tokens.size(); ++p) {
    KPOLICY_TRY(kernels::DecodeRows(weights_.token_embd().tensor, tokens[p], 1, row));
    for (int64_t i = 0; i < d; ++i) {
      x[p * static_cast<size_t>(d) + static_cast<size_t>(i)] = static_cast<double>(row[static_cast<size_t>(i)]) * config_.embedding_scale;
    }
  }
  return {};
}

Status Decoder::Apply(const Matrix& matrix, const std::vector<double>& in, int64_t count,
                      std::vector<double>& out) {
  out.assign(static_cast<size_t>(count * matrix.rows), 0.0);
  return matvec_.Apply(matrix, in, count, out);
}

Status Decoder::AttentionBlock(int64_t layer, int64_t start, int64_t count, std::vector<double>& x) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers()[static_cast<size_t>(layer)];
  const int64_t hk = c.head_dim_k;
  const int64_t hv = c.head_dim_v;
  const int64_t q_width = c.n_head * hk;
  const int64_t k_width = c.n_head_kv * hk;
  const int64_t v_width = c.n_head_kv * hv;

  std::vector<double> h = x;
  NormRows(h, count, c.n_embd, w.attn_norm, c.rms_eps);
  std::vector<double> q, k, v;
  KPOLICY_TRY(Apply(w.attn_q, h, count, q));
  KPOLICY_TRY(Apply(w.attn_k, h, count, k));
  KPOLICY_TRY(Apply(w.attn_v, h, count, v));
  if (c.qk_norm) {
    NormRows(q, count * c.n_head, hk, w.attn_q_norm, c.rms_eps);
    NormRows(k, count * c.n_head_kv, hk, w.attn_k_norm, c.rms_eps);
  }
  const bool sliding = c.is_sliding(layer);
  const RopeParams rope{c.n_rot, sliding ? c.rope_base_sliding : c.rope_base, c.rope_style,
                        weights_.rope_freq_factors()};
  const double position_scale = sliding ? 1.0 : c.rope_position_scale;
  for (int64_t p = 0; p < count; ++p) {
    const double position = static_cast<double>(start + p) * position_scale;
    for (int64_t head = 0; head < c.n_head; ++head) {
      ApplyRope(std::span<double>(q).subspan(static_cast<size_t>(p * q_width + head * hk), static_cast<size_t>(hk)),
                position, rope);
    }
    for (int64_t head = 0; head < c.n_head_kv; ++head) {
      ApplyRope(std::span<double>(k).subspan(static_cast<size_t>(p * k_width + head * hk), static_cast<size_t>(hk)),
                position, rope);
    }
  }

  // The batch's keys and values join the cache first; the causal window
  // below keeps each query from seeing later positions.
  LayerCache& cache = cache_[static_cast<size_t>(layer)];
  cache.keys.insert(cache.keys.end(), k.begin(), k.end());
  cache.values.insert(cache.values.end(), v.begin(), v.end());

  // GQA: query head h reads key/value head h / (n_head / n_head_kv), as
  // ggml's broadcast over the head dimension does.
  const int64_t group = c.n_head / c.n_head_kv;
  std::vector<double> attended(static_cast<size_t>(count * c.n_head * hv));
  for (int64_t p = 0; p < count; ++p) {
    const int64_t position = start + p;
    const int64_t first = sliding ? std::max<int64_t>(0, position - c.sliding_window + 1) : 0;
    for (int64_t head = 0; head < c.n_head; ++head) {
      const int64_t kv_head = head / group;
      AttendHead(std::span<const double>(q).subspan(static_cast<size_t>(p * q_width + head * hk), static_cast<size_t>(hk)),
                 cache.keys.data() + kv_head * hk, k_width, cache.values.data() + kv_head * hv, v_width,
                 first, position, c.attention_scale,
                 std::span<double>(attended).subspan(static_cast<size_t>((p * c.n_head + head) * hv), static_cast<size_t>(hv)));
    }
  }
  std::vector<double> o;
  KPOLICY_TRY(Apply(w.attn_output, attended, count, o));
  if (c.post_norms) NormRows(o, count, c.n_embd, w.post_attention_norm, c.rms_eps);
  AddInto(x, o);
  return {};
}

Status Decoder::FeedForwardBlock(int64_t layer, int64_t count, std::vector<double>& x) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers()[static_cast<size_t>(layer)];
  std::vector<double> h = x;
  NormRows(h, count, c.n_embd, w.ffn_norm, c.rms_eps);
  std::vector<double> gate, up;
  KPOLICY_TRY(Apply(w.ffn_gate, h, count, gate));
  KPOLICY_TRY(Apply(w.ffn_up, h, count, up));
  for (size_t i = 0; i < gate.size(); ++i) {
    const double a = c.activation == FeedForwardActivation::kSilu ? Silu(gate[i]) : GeluTanh(gate[i]);
    gate[i] = a * up[i];
  }
  std::vector<double> down;
  KPOLICY_TRY(Apply(w.ffn_down, gate, count, down));
  if (c.post_norms) NormRows(down, count, c.n_embd, w.post_ffw_norm, c.rms_eps);
  AddInto(x, down);
  return {};
}

Status Decoder::Logits(int64_t count, std::vector<double>& x, std::vector<double>& logits) {
  NormRows(x, count, config_.n_embd, weights_.output_norm(), config_.rms_eps);
  KPOLICY_TRY(Apply(weights_.output(), x, count, logits));
  if (config_.final_logit_softcap > 0) {
    const double cap = config_.final_logit_softcap;
    for (double& l : logits) l = cap * std::tanh(l / cap);
  }
  return {};
}

void Decoder::Truncate(int64_t positions) {
  positions_ = std::min(positions_, positions);
  for (LayerCache& cache : cache_) {
    cache.keys.resize(static_cast<size_t>(positions_ * config_.n_head_kv * config_.head_dim_k));
    cache.values.resize(static_cast<size_t>(positions_ * config_.n_head_kv * config_.head_dim_v));
  }
}

int32_t Argmax(std::span<const double> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<int32_t> TopK(std::span<const double> logits, int k) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  k = std::min<int>(k, static_cast<int>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
           (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  });
  ids.resize(static_cast<size_t>(k));
  return ids;
}

Expected<std::vector<int32_t>> GreedyDecode(Decoder& decoder, std::span<const int32_t> prompt,
                                            int64_t max_new, std::span<const int32_t> stop) {
  if (prompt.empty()) return Fail(ErrorCode::kInvalidArgument, "greedy decoding needs a prompt of at least one token");
  Expected<std::vector<std::vector<double>>> prefill = decoder.ForwardBatch(prompt, 0);
  KPOLICY_TRY(prefill);
  std::vector<int32_t> generated;
  std::vector<double> logits = std::move(prefill->back());
  int64_t position = static_cast<int64_t>(prompt.size());
  while (static_cast<int64_t>(generated.size()) < max_new) {
    const int32_t next = Argmax(logits);
    generated.push_back(next);
    if (std::find(stop.begin(), stop.end(), next) != stop.end()) break;
    if (static_cast<int64_t>(generated.size()) == max_new) break;
    Expected<std::vector<double>> step = decoder.Forward(next, position++);
    KPOLICY_TRY(step);
    logits = std::move(*step);
  }
  return generated;
}

Expected<std::vector<std::vector<double>>> TeacherForced(Decoder& decoder, std::span<const int32_t> tokens,
                                                         int64_t batch) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (batch <= 0) batch = std::max<int64_t>(1, n);
  std::vector<std::vector<double>> logits;
  logits.reserve(tokens.size());
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    Expected<std::vector<std::vector<double>>> part =
        decoder.ForwardBatch(tokens.subspan(static_cast<size_t>(start), static_cast<size_t>(count)), start);
    KPOLICY_TRY(part);
    for (std::vector<double>& row : *part) logits.push_back(std::move(row));
  }
  return logits;
}

}  // namespace kpolicy::model
