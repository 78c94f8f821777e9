#include "kpolicy/model/model_weights.h"

#include <string>
#include <utility>

#include "kpolicy/kernels/ggml_decode.h"

namespace kpolicy::model {
namespace {

using kernels::GgufFile;
using kernels::GgufTensor;

std::string ShapeText(const std::vector<uint64_t>& dims) {
  std::string out = "{";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "}";
}

// Reads one tensor and checks its shape is exactly `dims` (ne0 first) and
// its type decodable.
Expected<GgufTensor> ReadChecked(const GgufFile& file, const std::string& name,
                                 const std::vector<uint64_t>& dims) {
  const kernels::GgufTensorInfo* info = file.FindTensor(name);
  if (info == nullptr) {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file.name()}, "missing tensor " + name);
  }
  if (info->dims != dims) {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file.name()},
                "tensor " + name + " has shape " + ShapeText(info->dims) + ", the config needs " +
                    ShapeText(dims));
  }
  if (!kernels::CanDecode(info->type)) {
    std::optional<kernels::GgmlTypeTraits> traits = kernels::GgmlTypeInfo(static_cast<uint32_t>(info->type));
    return Fail(ErrorCode::kUnsupported, SourceLocation{file.name()},
                "tensor " + name + " has type " + std::string(traits ? traits->name : "unknown") +
                    ", which the decoder cannot decode");
  }
  return file.ReadTensor(name);
}

Expected<Matrix> ReadMatrix(const GgufFile& file, const std::string& name, int64_t rows, int64_t cols) {
  Expected<GgufTensor> tensor =
      ReadChecked(file, name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)});
  KPOLICY_TRY(tensor);
  return Matrix{name, std::move(*tensor), rows, cols};
}

Expected<std::vector<double>> ReadVector(const GgufFile& file, const std::string& name, int64_t size) {
  Expected<GgufTensor> tensor = ReadChecked(file, name, {static_cast<uint64_t>(size)});
  KPOLICY_TRY(tensor);
  Expected<std::vector<float>> values = kernels::DecodeTensor(*tensor);
  KPOLICY_TRY(values);
  return std::vector<double>(values->begin(), values->end());
}

// Assigns the result of a read to `field`, or returns its error.
#define KPOLICY_MODEL_READ(field, expr)                   \
  do {                                                    \
    auto kpolicy_read_ = (expr);                          \
    KPOLICY_TRY(kpolicy_read_);                           \
    field = std::move(*kpolicy_read_);                    \
  } while (0)

Expected<LayerWeights> ReadLayer(const GgufFile& file, const ModelConfig& c, int64_t layer) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  const int64_t q_width = c.n_head * c.head_dim_k;
  const int64_t k_width = c.n_head_kv * c.head_dim_k;
  const int64_t v_width = c.n_head_kv * c.head_dim_v;
  const int64_t attn_out_width = c.n_head * c.head_dim_v;
  LayerWeights w;
  KPOLICY_MODEL_READ(w.attn_norm, ReadVector(file, p + "attn_norm.weight", c.n_embd));
  KPOLICY_MODEL_READ(w.attn_q, ReadMatrix(file, p + "attn_q.weight", q_width, c.n_embd));
  KPOLICY_MODEL_READ(w.attn_k, ReadMatrix(file, p + "attn_k.weight", k_width, c.n_embd));
  KPOLICY_MODEL_READ(w.attn_v, ReadMatrix(file, p + "attn_v.weight", v_width, c.n_embd));
  KPOLICY_MODEL_READ(w.attn_output, ReadMatrix(file, p + "attn_output.weight", c.n_embd, attn_out_width));
  KPOLICY_MODEL_READ(w.ffn_norm, ReadVector(file, p + "ffn_norm.weight", c.n_embd));
  KPOLICY_MODEL_READ(w.ffn_gate, ReadMatrix(file, p + "ffn_gate.weight", c.n_ff, c.n_embd));
  KPOLICY_MODEL_READ(w.ffn_up, ReadMatrix(file, p + "ffn_up.weight", c.n_ff, c.n_embd));
  KPOLICY_MODEL_READ(w.ffn_down, ReadMatrix(file, p + "ffn_down.weight", c.n_embd, c.n_ff));
  if (c.qk_norm) {
    KPOLICY_MODEL_READ(w.attn_q_norm, ReadVector(file, p + "attn_q_norm.weight", c.head_dim_k));
    KPOLICY_MODEL_READ(w.attn_k_norm, ReadVector(file, p + "attn_k_norm.weight", c.head_dim_k));
  }
  if (c.post_norms) {
    KPOLICY_MODEL_READ(w.post_attention_norm, ReadVector(file, p + "post_attention_norm.weight", c.n_embd));
    KPOLICY_MODEL_READ(w.post_ffw_norm, ReadVector(file, p + "post_ffw_norm.weight", c.n_embd));
  }
  return w;
}

}  // namespace

std::vector<const Matrix*> ModelWeights::matrices() const {
  std::vector<const Matrix*> out{&token_embd_};
  for (const LayerWeights& l : layers_) {
    for (const Matrix* m : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up,
                            &l.ffn_down}) {
      out.push_back(m);
    }
  }
  if (output_) out.push_back(&*output_);
  return out;
}

Expected<ModelWeights> LoadModelWeights(const GgufFile& file, const ModelConfig& config) {
  ModelWeights w;
  w.file_ = file.name();
  KPOLICY_MODEL_READ(w.token_embd_, ReadMatrix(file, "token_embd.weight", config.n_vocab, config.n_embd));
  w.layers_.reserve(static_cast<size_t>(config.n_layer));
  for (int64_t layer = 0; layer < config.n_layer; ++layer) {
    Expected<LayerWeights> l = ReadLayer(file, config, layer);
    KPOLICY_TRY(l);
    w.layers_.push_back(std::move(*l));
  }
  KPOLICY_MODEL_READ(w.output_norm_, ReadVector(file, "output_norm.weight", config.n_embd));
  if (file.FindTensor("output.weight") != nullptr) {
    KPOLICY_MODEL_READ(w.output_, ReadMatrix(file, "output.weight", config.n_vocab, config.n_embd));
  }
  if (file.FindTensor("rope_freqs.weight") != nullptr) {
    KPOLICY_MODEL_READ(w.rope_freq_factors_, ReadVector(file, "rope_freqs.weight", config.n_rot / 2));
  }
  return w;
}

Expected<Model> LoadModel(const std::string& path) {
  Expected<kernels::GgufFile> file = kernels::GgufFile::Open(path);
  KPOLICY_TRY(file);
  Expected<ModelConfig> config = ReadModelConfig(*file);
  KPOLICY_TRY(config);
  Expected<ModelWeights> weights = LoadModelWeights(*file, *config);
  KPOLICY_TRY(weights);
  return Model{std::move(*config), std::move(*weights)};
}

}  // namespace kpolicy::model
