// Fuzz target: GGUF bytes, read as every consumer in the tree reads them:
// the header, metadata and tensor infos (GgufFile), each tensor's data and
// its weight matrix with one row dequantised, the model config, the
// weights the decoder would load, and the tokenizer (a short text encoded
// and decoded). The bytes are in memory, so every allocation is bounded by
// the reader's checks against their size.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/kernels/weights.h"
#include "kpolicy/model/config.h"
#include "kpolicy/model/model_weights.h"
#include "kpolicy/model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace kn = kpolicy::kernels;
  namespace km = kpolicy::model;
  auto file = kn::GgufFile::Parse(std::vector<uint8_t>(data, data + size), "fuzz.gguf");
  if (!file.ok()) {
    (void)file.error().ToString();
    return 0;
  }
  for (const kn::GgufTensorInfo& info : file->tensors()) {
    if (file->FindTensor(info.name) != &info) __builtin_trap();  // names are unique
    auto tensor = file->ReadTensor(info.name);
    if (!tensor.ok()) continue;
    auto matrix = kn::ToWeightMatrix(*tensor, file->name());
    if (!matrix.ok() || matrix->rows == 0) continue;
    std::vector<float> row(static_cast<size_t>(matrix->cols));
    kn::DequantizeRow(matrix->view(), matrix->rows - 1, row);
  }
  auto config = km::ReadModelConfig(*file);
  if (config.ok()) (void)km::LoadModelWeights(*file, *config);
  auto tokenizer = km::Tokenizer::FromGguf(*file);
  if (tokenizer.ok()) {
    const std::vector<int32_t> ids = tokenizer->Encode("Hello, world! \xc3\xa9\xff 12", tokenizer->adds_bos());
    (void)tokenizer->Decode(ids);
  }
  return 0;
}
