#include "model_facts.h"

#include "kpolicy/kernels/gguf.h"

namespace kpolicy::tools {

std::string GgufFileTypeName(uint64_t file_type) {
  // llama.cpp's LLAMA_FTYPE_MOSTLY_* numbering, which GGUF writers store.
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
      {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},   {32, "BF16"}};
  for (const auto& [number, name] : kNames) {
    if (number == file_type) return name;
  }
  return "file type " + std::to_string(file_type);
}

Expected<ModelFacts> ReadGgufModelFacts(const std::string& path) {
  auto file = kernels::GgufFile::Open(path);
  if (!file.ok()) return Fail(file.error());
  ModelFacts m;
  auto text = [&](const char* key) -> std::string {
    const kernels::GgufValue* v = file->FindMetadata(key);
    const std::string* s = v ? v->AsString() : nullptr;
    return s ? *s : std::string();
  };
  m.architecture = text("general.architecture");
  m.name = text("general.name");
  m.size = text("general.size_label");
  if (const kernels::GgufValue* t = file->FindMetadata("general.file_type")) {
    if (auto n = t->AsUint()) m.quantisation = GgufFileTypeName(*n);
  }
  return m;
}

}  // namespace kpolicy::tools
