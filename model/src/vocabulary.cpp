#include "kpolicy/model/vocabulary.h"

#include <sstream>

namespace kpolicy::model {
namespace {

std::optional<int32_t> ReadId(const kernels::GgufFile& file, std::string_view key) {
  const kernels::GgufValue* value = file.FindMetadata(key);
  if (value == nullptr) return std::nullopt;
  std::optional<int64_t> id = value->AsInt();
  if (!id) return std::nullopt;
  return static_cast<int32_t>(*id);
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

Expected<Vocabulary> Vocabulary::Read(const kernels::GgufFile& file) {
  const kernels::GgufValue* tokens = file.FindMetadata("tokenizer.ggml.tokens");
  const kernels::GgufValue::Array* array = tokens ? tokens->AsArray() : nullptr;
  if (array == nullptr) {
    return Fail(ErrorCode::kInvalidInput, SourceLocation{file.name()},
                "missing metadata key tokenizer.ggml.tokens (an array of strings)");
  }
  Vocabulary vocab;
  vocab.pieces_.reserve(array->items.size());
  for (const kernels::GgufValue& item : array->items) {
    const std::string* piece = item.AsString();
    if (piece == nullptr) {
      return Fail(ErrorCode::kInvalidInput, SourceLocation{file.name()},
                  "tokenizer.ggml.tokens holds a value that is not a string");
    }
    vocab.ids_.emplace(*piece, static_cast<int32_t>(vocab.pieces_.size()));
    vocab.pieces_.push_back(*piece);
  }
  const kernels::GgufValue* model = file.FindMetadata("tokenizer.ggml.model");
  const bool gpt2 = model && model->AsString() && *model->AsString() == "gpt2";
  vocab.space_marker_ = gpt2 ? "\xC4\xA0" : "\xE2\x96\x81";  // Ġ, ▁
  const kernels::GgufValue* add_bos = file.FindMetadata("tokenizer.ggml.add_bos_token");
  if (add_bos && std::get_if<bool>(&add_bos->data) && std::get<bool>(add_bos->data)) {
    vocab.bos_to_add_ = ReadId(file, "tokenizer.ggml.bos_token_id");
  }
  vocab.eos_ = ReadId(file, "tokenizer.ggml.eos_token_id");
  return vocab;
}

std::optional<int32_t> Vocabulary::Find(std::string_view piece) const {
  auto found = ids_.find(std::string(piece));
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

Expected<std::vector<int32_t>> Vocabulary::WholeWords(std::string_view text) const {
  std::vector<int32_t> ids;
  if (bos_to_add_) ids.push_back(*bos_to_add_);
  std::istringstream words{std::string(text)};
  std::string word;
  for (bool first = true; words >> word; first = false) {
    const std::string piece = first ? word : space_marker_ + word;
    std::optional<int32_t> id = Find(piece);
    if (!id) return Fail(ErrorCode::kNotFound, "the word '" + word + "' is not one token piece");
    ids.push_back(*id);
  }
  return ids;
}

std::string Vocabulary::Render(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id >= 0 && id < size()) text += pieces_[static_cast<size_t>(id)];
  }
  ReplaceAll(text, "\xC4\xA0", " ");
  ReplaceAll(text, "\xE2\x96\x81", " ");
  ReplaceAll(text, "\xC4\x8A", "\n");
  ReplaceAll(text, "<0x0A>", "\n");
  return text;
}

}  // namespace kpolicy::model
