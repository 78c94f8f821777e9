// model_parity MODEL.gguf [--arithmetic float|dp4a] [--gemv q4k|q6k]
//              [--requantize] [--prompt TEXT] [--positions N]
//              [--threads T] [--format text|json]
//
// Model-level parity of one arithmetic class's CPU emulation on a real
// model (model_parity.h): the prompt (default "Once upon a time there was a
// little") followed by the fp64 reference's greedy continuation, N
// positions in all (default 32); the class runs every matrix stored as
// --gemv's format (default q4k), or with --requantize every product matrix
// requantised to it (the reference then over the same blocks), the others
// at the reference. Prints the per-position table and the summary, or one
// JSON object: {"model", "arithmetic", "gemv", "requantized",
// "variant_matrices", "variant_weights", "tokens": [...], "parity": {...}}.
// Exit status: 0 measured, 1 a model or measurement error, 2 usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "kpolicy/json.h"
#include "kpolicy/model/model_parity.h"
#include "kpolicy/model/tokenizer.h"
#include "kpolicy/model/variant_matvec.h"

namespace {

using namespace kpolicy;
using namespace kpolicy::model;

struct Options {
  std::string path;
  kernels::Arithmetic arithmetic = kernels::Arithmetic::kFloatActivations;
  kernels::WeightFormat gemv = kernels::WeightFormat::kQ4K;
  bool requantize = false;
  std::string prompt = "Once upon a time there was a little";
  int64_t positions = 32;
  int threads = 0;
  bool json = false;
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "model_parity: %s\nusage: model_parity MODEL.gguf [--arithmetic float|dp4a] [--gemv q4k|q6k] "
               "[--requantize] [--prompt TEXT] [--positions N] [--threads T] [--format text|json]\n",
               why);
  return 2;
}

int Die(const Error& error) {
  std::fprintf(stderr, "model_parity: %s\n", error.ToString().c_str());
  return 1;
}

// Returns a usage message, or empty when `options` was filled.
std::string Parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    const std::string value = has_value ? argv[i + 1] : "";
    auto take = [&] { return has_value ? (++i, true) : false; };
    if (arg == "--requantize") {
      options.requantize = true;
    } else if (arg == "--arithmetic" && take()) {
      if (value != "float" && value != "dp4a") return "--arithmetic is float or dp4a, not " + value;
      options.arithmetic =
          value == "dp4a" ? kernels::Arithmetic::kDp4aQ8_1 : kernels::Arithmetic::kFloatActivations;
    } else if (arg == "--gemv" && take()) {
      if (value != "q4k" && value != "q6k") return "--gemv is q4k or q6k, not " + value;
      options.gemv = value == "q6k" ? kernels::WeightFormat::kQ6K : kernels::WeightFormat::kQ4K;
    } else if (arg == "--prompt" && take()) {
      options.prompt = value;
    } else if (arg == "--positions" && take()) {
      options.positions = std::atoll(value.c_str());
      if (options.positions <= 0) return "--positions takes a positive count, not " + value;
    } else if (arg == "--threads" && take()) {
      options.threads = std::atoi(value.c_str());
    } else if (arg == "--format" && take()) {
      if (value != "text" && value != "json") return "--format is text or json, not " + value;
      options.json = value == "json";
    } else if (arg.rfind("--", 0) != 0 && options.path.empty()) {
      options.path = arg;
    } else {
      return "unexpected argument " + arg;
    }
  }
  return options.path.empty() ? "no model file given" : "";
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::string why = Parse(argc, argv, options); !why.empty()) return Usage(why.c_str());

  const auto start = std::chrono::steady_clock::now();
  auto file = kernels::GgufFile::Open(options.path);
  if (!file.ok()) return Die(file.error());
  auto tokenizer = Tokenizer::FromGguf(*file);
  if (!tokenizer.ok()) return Die(tokenizer.error());
  auto config = ReadModelConfig(*file);
  if (!config.ok()) return Die(config.error());
  auto loaded = LoadModelWeights(*file, *config);
  if (!loaded.ok()) return Die(loaded.error());
  const ModelWeights& weights = *loaded;
  auto exact = ReferenceMatVec::Create(weights, options.threads);
  if (!exact.ok()) return Die(exact.error());

  const std::vector<int32_t> prompt = tokenizer->Encode(options.prompt, tokenizer->adds_bos());
  auto tokens = ReferenceSequence(*config, weights, *exact, prompt, options.positions);
  if (!tokens.ok()) return Die(tokens.error());

  auto matrices = options.requantize ? FormatMatrices::Requantized(weights, options.gemv, options.threads)
                                     : FormatMatrices::AsStored(weights, options.gemv);
  if (!matrices.ok()) return Die(matrices.error());
  // With requantisation the reference runs over the same blocks, so the
  // figures are the arithmetic's alone.
  std::optional<ReferenceMatVec> same_blocks;
  if (options.requantize) {
    auto r = RequantizedReference(weights, *matrices, options.threads);
    if (!r.ok()) return Die(r.error());
    same_blocks.emplace(std::move(*r));
  }
  ReferenceMatVec& reference = same_blocks ? *same_blocks : *exact;
  VariantMatVec candidate(*matrices, CpuEmulation(options.arithmetic), reference, options.threads);
  auto parity = MeasureModelParity(*config, weights, *tokens, reference, candidate);
  if (!parity.ok()) return Die(parity.error());

  const std::string model_name = std::filesystem::path(options.path).filename().string();
  const char* arithmetic = options.arithmetic == kernels::Arithmetic::kDp4aQ8_1 ? "dp4a" : "float";
  const std::string gemv(kernels::WeightFormatName(options.gemv));
  if (options.json) {
    JsonWriter json(2);
    json.BeginObject();
    json.Key("model").String(model_name);
    json.Key("arithmetic").String(arithmetic);
    json.Key("gemv").String(gemv);
    json.Key("requantized").Bool(options.requantize);
    json.Key("variant_matrices").Int(matrices->count());
    json.Key("variant_weights").Int(matrices->weight_count());
    json.Key("text").String(tokenizer->Decode(*tokens));
    json.Key("tokens").BeginArray();
    for (int32_t id : *tokens) json.Int(id);
    json.EndArray();
    json.Key("seconds").Double(SecondsSince(start));
    json.Key("parity");
    WriteJson(*parity, json);
    json.EndObject();
    std::printf("%s\n", json.text().c_str());
  } else {
    std::printf("model %s, arithmetic %s on %lld %s matrices (%s, %lld weights)\n", model_name.c_str(), arithmetic,
                static_cast<long long>(matrices->count()), gemv.c_str(),
                options.requantize ? "requantised" : "as stored", static_cast<long long>(matrices->weight_count()));
    std::printf("text %s\n", tokenizer->Decode(*tokens).c_str());
    std::printf("%s", FormatTable(*parity).c_str());
    std::printf("passes: reference %.2f s, candidate %.2f s; total %.2f s\n", parity->reference_seconds,
                parity->candidate_seconds, SecondsSince(start));
  }
  return 0;
}
