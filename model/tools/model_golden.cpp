// model_golden MODEL.gguf --text "WORDS ..." [--top K]
//
// Prints the golden file tests/model/data/*.txt compares with: the token
// ids of the text (the model's tokenizer, tokenizer.h, BOS first where the
// model adds one), then for every
// position of a teacher-forced run of the CPU fp64 reference the top K
// next-token ids with their logits (%.6f). See tests/model/data/README.md
// for the command that wrote each checked-in file.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "kpolicy/model/decoder.h"
#include "kpolicy/model/tokenizer.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: model_golden MODEL.gguf --text \"WORDS ...\" [--top K]\n");
  return 2;
}

int Die(const kpolicy::Error& error) {
  std::fprintf(stderr, "model_golden: %s\n", error.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kpolicy::model;
  if (argc < 4 || std::strcmp(argv[2], "--text") != 0) return Usage();
  const std::string path = argv[1];
  const std::string text = argv[3];
  int top = 5;
  if (argc == 6 && std::strcmp(argv[4], "--top") == 0) top = std::atoi(argv[5]);
  if (top <= 0) return Usage();

  auto file = kpolicy::kernels::GgufFile::Open(path);
  if (!file.ok()) return Die(file.error());
  auto tokenizer = Tokenizer::FromGguf(*file);
  if (!tokenizer.ok()) return Die(tokenizer.error());
  const std::vector<int32_t> tokens = tokenizer->Encode(text, tokenizer->adds_bos());
  auto config = ReadModelConfig(*file);
  if (!config.ok()) return Die(config.error());
  auto weights = LoadModelWeights(*file, *config);
  if (!weights.ok()) return Die(weights.error());
  auto matvec = ReferenceMatVec::Create(*weights);
  if (!matvec.ok()) return Die(matvec.error());
  Decoder decoder(*config, *weights, *matvec);
  auto logits = TeacherForced(decoder, tokens);
  if (!logits.ok()) return Die(logits.error());

  std::printf("model %s\n", std::filesystem::path(path).filename().string().c_str());
  std::printf("text %s\n", text.c_str());
  std::printf("tokens");
  for (int32_t id : tokens) std::printf(" %d", id);
  std::printf("\n");
  for (size_t p = 0; p < logits->size(); ++p) {
    std::printf("position %zu", p);
    for (int32_t id : TopK((*logits)[p], top)) std::printf(" %d %.6f", id, (*logits)[p][static_cast<size_t>(id)]);
    std::printf("\n");
  }
  return 0;
}
