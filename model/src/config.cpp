#include "kpolicy/model/config.h"

#include <cmath>
#include <optional>
#include <string>

namespace kpolicy::model {
namespace {

using kernels::GgufFile;
using kernels::GgufValue;

Unexpected<Error> InvalidModel(const GgufFile& file, std::string message) {
  return Fail(ErrorCode::kInvalidInput, SourceLocation{file.name()}, std::move(message));
}

// Reads metadata keys of one architecture ("llama.block_count", ...) with
// errors that name the key and say what was wrong with it.
class MetadataReader {
 public:
  MetadataReader(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  std::string Key(std::string_view suffix) const { return arch_ + "." + std::string(suffix); }

  // A positive integer no larger than `max`.
  Expected<int64_t> RequiredCount(std::string_view suffix, int64_t max) const {
    const std::string key = Key(suffix);
    const GgufValue* value = file_.FindMetadata(key);
    if (value == nullptr) return InvalidModel(file_, "missing metadata key " + key);
    return CheckCount(key, *value, max);
  }

  Expected<std::optional<int64_t>> OptionalCount(std::string_view suffix, int64_t max) const {
    const std::string key = Key(suffix);
    const GgufValue* value = file_.FindMetadata(key);
    if (value == nullptr) return std::optional<int64_t>();
    Expected<int64_t> count = CheckCount(key, *value, max);
    if (!count.ok()) return Fail(std::move(count).error());
    return std::optional<int64_t>(*count);
  }

  // A finite positive number.
  Expected<std::optional<double>> OptionalPositive(std::string_view suffix) const {
    const std::string key = Key(suffix);
    const GgufValue* value = file_.FindMetadata(key);
    if (value == nullptr) return std::optional<double>();
    std::optional<double> number = value->AsFloat();
    if (!number) {
      if (std::optional<int64_t> integer = value->AsInt()) number = static_cast<double>(*integer);
    }
    if (!number || !std::isfinite(*number) || *number <= 0) {
      return InvalidModel(file_, "metadata key " + key + " must be a positive number");
    }
    return number;
  }

  Expected<double> RequiredPositive(std::string_view suffix) const {
    Expected<std::optional<double>> number = OptionalPositive(suffix);
    if (!number.ok()) return Fail(std::move(number).error());
    if (!number->has_value()) return InvalidModel(file_, "missing metadata key " + Key(suffix));
    return **number;
  }

  const GgufValue* Find(std::string_view suffix) const { return file_.FindMetadata(Key(suffix)); }

 private:
  Expected<int64_t> CheckCount(const std::string& key, const GgufValue& value, int64_t max) const {
    std::optional<int64_t> count = value.AsInt();
    if (!count) return InvalidModel(file_, "metadata key " + key + " must be an integer");
    if (*count <= 0 || *count > max) {
      return InvalidModel(file_, "metadata key " + key + " = " + std::to_string(*count) +
                                     " is out of range (1.." + std::to_string(max) + ")");
    }
    return *count;
  }

  const GgufFile& file_;
  std::string arch_;
};

// Limits far above any released model, so that a hostile file cannot make
// the loader allocate without bound before tensor shapes are checked.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxWidth = 1 << 20;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxContext = int64_t{1} << 24;

Expected<Architecture> ReadArchitecture(const GgufFile& file, std::string* name) {
  const GgufValue* value = file.FindMetadata("general.architecture");
  if (value == nullptr) return InvalidModel(file, "missing metadata key general.architecture");
  const std::string* arch = value->AsString();
  if (arch == nullptr) return InvalidModel(file, "metadata key general.architecture must be a string");
  *name = *arch;
  if (*arch == "llama") return Architecture::kLlama;
  if (*arch == "gemma3") return Architecture::kGemma3;
  return Fail(ErrorCode::kUnsupported, SourceLocation{file.name()},
              "unsupported architecture '" + *arch + "' (the decoder implements llama and gemma3)");
}

Status ReadShape(const MetadataReader& meta, const GgufFile& file, ModelConfig& c) {
  Expected<int64_t> n_layer = meta.RequiredCount("block_count", kMaxLayers);
  KPOLICY_TRY(n_layer);
  Expected<int64_t> n_embd = meta.RequiredCount("embedding_length", kMaxWidth);
  KPOLICY_TRY(n_embd);
  Expected<int64_t> n_ff = meta.RequiredCount("feed_forward_length", kMaxWidth);
  KPOLICY_TRY(n_ff);
  Expected<int64_t> n_head = meta.RequiredCount("attention.head_count", kMaxHeads);
  KPOLICY_TRY(n_head);
  Expected<std::optional<int64_t>> n_head_kv = meta.OptionalCount("attention.head_count_kv", kMaxHeads);
  KPOLICY_TRY(n_head_kv);
  Expected<std::optional<int64_t>> key_length = meta.OptionalCount("attention.key_length", kMaxWidth);
  KPOLICY_TRY(key_length);
  Expected<std::optional<int64_t>> value_length = meta.OptionalCount("attention.value_length", kMaxWidth);
  KPOLICY_TRY(value_length);
  Expected<std::optional<int64_t>> n_rot = meta.OptionalCount("rope.dimension_count", kMaxWidth);
  KPOLICY_TRY(n_rot);
  Expected<std::optional<int64_t>> context = meta.OptionalCount("context_length", kMaxContext);
  KPOLICY_TRY(context);

  c.n_layer = *n_layer;
  c.n_embd = *n_embd;
  c.n_ff = *n_ff;
  c.n_head = *n_head;
  // llama.cpp: head_count_kv defaults to head_count (plain multi-head).
  c.n_head_kv = n_head_kv->value_or(c.n_head);
  if (c.n_head % c.n_head_kv != 0) {
    return InvalidModel(file, meta.Key("attention.head_count") + " = " + std::to_string(c.n_head) +
                                  " is not a multiple of " + meta.Key("attention.head_count_kv") +
                                  " = " + std::to_string(c.n_head_kv));
  }
  if (!key_length->has_value() && c.n_embd % c.n_head != 0) {
    return InvalidModel(file, meta.Key("embedding_length") + " is not a multiple of " +
                                  meta.Key("attention.head_count") + " and " +
                                  meta.Key("attention.key_length") + " is missing");
  }
  c.head_dim_k = key_length->value_or(c.n_embd / c.n_head);
  c.head_dim_v = value_length->value_or(c.head_dim_k);
  c.n_rot = n_rot->value_or(c.head_dim_k);
  if (c.n_rot % 2 != 0 || c.n_rot > c.head_dim_k) {
    return InvalidModel(file, meta.Key("rope.dimension_count") + " = " + std::to_string(c.n_rot) +
                                  " must be even and at most the head size " +
                                  std::to_string(c.head_dim_k));
  }
  c.context_length = context->value_or(0);
  return {};
}

Status ReadVocabSize(const GgufFile& file, ModelConfig& c) {
  const kernels::GgufTensorInfo* embd = file.FindTensor("token_embd.weight");
  if (embd == nullptr) return InvalidModel(file, "missing tensor token_embd.weight");
  if (embd->dims.size() != 2 || embd->dims[0] != static_cast<uint64_t>(c.n_embd) ||
      embd->dims[1] == 0 || embd->dims[1] > static_cast<uint64_t>(kMaxContext)) {
    std::string shape;
    for (uint64_t d : embd->dims) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    return InvalidModel(file, "tensor token_embd.weight has shape {" + shape + "}, expected {" +
                                  std::to_string(c.n_embd) + ", n_vocab}");
  }
  c.n_vocab = static_cast<int64_t>(embd->dims[1]);
  return {};
}

Status ReadRope(const MetadataReader& meta, const GgufFile& file, ModelConfig& c) {
  Expected<std::optional<double>> base = meta.OptionalPositive("rope.freq_base");
  KPOLICY_TRY(base);
  c.rope_base = base->value_or(10000.0);  // llama.cpp's default freq_base
  c.rope_base_sliding = 10000.0;
  const GgufValue* scaling = meta.Find("rope.scaling.type");
  if (scaling != nullptr && scaling->AsString() != nullptr && *scaling->AsString() != "none") {
    if (*scaling->AsString() != "linear") {
      return Fail(ErrorCode::kUnsupported, SourceLocation{file.name()},
                  meta.Key("rope.scaling.type") + " = '" + *scaling->AsString() +
                      "' is not supported (only linear)");
    }
    Expected<double> factor = meta.RequiredPositive("rope.scaling.factor");
    KPOLICY_TRY(factor);
    c.rope_position_scale = 1.0 / *factor;
  }
  return {};
}

Status ReadArchitectureSpecifics(const MetadataReader& meta, ModelConfig& c) {
  if (c.arch == Architecture::kLlama) {
    c.rope_style = RopeStyle::kAdjacentPairs;
    c.activation = FeedForwardActivation::kSilu;
    c.attention_scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim_k));
    return {};
  }
  c.rope_style = RopeStyle::kHalfSplit;
  c.activation = FeedForwardActivation::kGeluTanh;
  c.qk_norm = true;
  c.post_norms = true;
  c.embedding_scale = std::sqrt(static_cast<double>(c.n_embd));
  // gemma_pytorch's query_pre_attn_scalar, as llama.cpp applies it: the
  // 62-layer 27B model scales by 1/sqrt(n_embd / n_head), the others by
  // 1/sqrt(head_dim).
  c.attention_scale = c.n_layer == 62 ? 1.0 / std::sqrt(static_cast<double>(c.n_embd / c.n_head))
                                      : 1.0 / std::sqrt(static_cast<double>(c.head_dim_k));
  Expected<std::optional<int64_t>> window = meta.OptionalCount("attention.sliding_window", kMaxContext);
  KPOLICY_TRY(window);
  c.sliding_window = window->value_or(0);
  c.sliding_period = c.sliding_window > 0 ? 6 : 0;
  Expected<std::optional<double>> softcap = meta.OptionalPositive("final_logit_softcapping");
  KPOLICY_TRY(softcap);
  c.final_logit_softcap = softcap->value_or(0.0);
  return {};
}

}  // namespace

std::string_view ArchitectureName(Architecture arch) {
  switch (arch) {
    case Architecture::kLlama: return "llama";
    case Architecture::kGemma3: return "gemma3";
  }
  return "unknown";
}

Expected<ModelConfig> ReadModelConfig(const GgufFile& file) {
  ModelConfig c;
  std::string arch_name;
  Expected<Architecture> arch = ReadArchitecture(file, &arch_name);
  KPOLICY_TRY(arch);
  c.arch = *arch;
  MetadataReader meta(file, arch_name);
  KPOLICY_TRY(ReadShape(meta, file, c));
  KPOLICY_TRY(ReadVocabSize(file, c));
  Expected<double> eps = meta.RequiredPositive("attention.layer_norm_rms_epsilon");
  KPOLICY_TRY(eps);
  c.rms_eps = *eps;
  KPOLICY_TRY(ReadRope(meta, file, c));
  KPOLICY_TRY(ReadArchitectureSpecifics(meta, c));
  return c;
}

}  // namespace kpolicy::model
