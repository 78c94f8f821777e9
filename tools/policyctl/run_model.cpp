#include "run_model.h"

#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "exit_codes.h"
#include "kpolicy/json.h"
#include "kpolicy/model/decoder.h"
#include "kpolicy/model/model_parity.h"
#include "kpolicy/model/model_weights.h"
#include "kpolicy/model/tokenizer.h"
#include "kpolicy/model/variant_matvec.h"
#include "kpolicy/runtime/model_matvec.h"
#include "kpolicy/runtime/runtime.h"
#include "model_facts.h"
#include "model_record.h"

namespace kpolicy::tools {
namespace {

namespace po = boost::program_options;
namespace kn = kpolicy::kernels;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct RunModelOptions {
  std::string path;
  std::string prompt = "Once upon a time there was a little";
  std::vector<int32_t> prompt_tokens;  // set: used instead of prompt
  int64_t tokens = 32;
  std::optional<kn::WeightFormat> requantize;
  bool cpu = false;
  bool json = false;
  int threads = 0;
};

// "1,2,3" -> {1, 2, 3}; every id in [0, n_vocab) is checked after loading.
Expected<std::vector<int32_t>> ParseTokenIds(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != 0 || v < 0 || v > INT32_MAX) {
      return Fail(ErrorCode::kInvalidArgument, "--prompt-tokens takes comma-separated token ids, not '" + text +
                                                   "' (item " + std::to_string(ids.size() + 1) + ": '" + item + "')");
    }
    ids.push_back(static_cast<int32_t>(v));
    start = comma + 1;
  }
  return ids;
}

// Tensors by ggml type name, e.g. {"Q4_K": 27, "Q6_K": 9, "F32": 145}.
std::map<std::string, int> TensorTypes(const kn::GgufFile& file) {
  std::map<std::string, int> counts;
  for (const kn::GgufTensorInfo& t : file.tensors()) {
    auto info = kn::GgmlTypeInfo(static_cast<uint32_t>(t.type));
    ++counts[info ? std::string(info->name) : "type " + std::to_string(static_cast<uint32_t>(t.type))];
  }
  return counts;
}

std::string MetadataString(const kn::GgufFile& file, std::string_view key) {
  const kn::GgufValue* v = file.FindMetadata(key);
  const std::string* s = v ? v->AsString() : nullptr;
  return s ? *s : "";
}

struct Generation {
  std::vector<int32_t> tokens;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t decode_steps = 0;  // Forward calls after the prefill
  bool stopped = false;      // ended at an end-of-generation token
};

// Prefill (one batch), then greedy steps; the first new token comes from
// the prefill's last logits, each further one from a single-position
// Forward, which is what tokens/s counts.
Expected<Generation> Generate(model::Decoder& decoder, const model::Tokenizer& tokenizer,
                              std::span<const int32_t> prompt, int64_t max_new) {
  Generation g;
  const auto prefill_start = Clock::now();
  auto batch = decoder.ForwardBatch(prompt, 0);
  if (!batch.ok()) return Fail(std::move(batch).error());
  g.prefill_seconds = SecondsSince(prefill_start);
  std::vector<double> logits = std::move(batch->back());
  const auto decode_start = Clock::now();
  for (int64_t i = 0; i < max_new; ++i) {
    const int32_t next = model::Argmax(logits);
    g.tokens.push_back(next);
    if (tokenizer.IsEndOfGeneration(next)) {
      g.stopped = true;
      break;
    }
    if (i + 1 == max_new) break;
    auto step = decoder.Forward(next, decoder.positions());
    if (!step.ok()) return Fail(std::move(step).error());
    logits = std::move(*step);
    ++g.decode_steps;
  }
  g.decode_seconds = SecondsSince(decode_start);
  return g;
}

Expected<RunModelOptions, int> ParseRunModel(const std::vector<std::string>& args, Io& io,
                                             runtime::StartOptions& start) {
  po::options_description options("policyctl run --model FILE.gguf [OPTIONS]");
  options.add_options()
      ("help,h", "show this help")
      ("model", po::value<std::string>(), "a GGUF model file (llama or gemma3 architecture)")
      ("prompt", po::value<std::string>(), "prompt text (default: \"Once upon a time there was a little\")")
      ("prompt-tokens", po::value<std::string>(), "prompt as token ids, e.g. 1,2,3 (instead of --prompt)")
      ("tokens", po::value<int64_t>()->default_value(32), "tokens to generate")
      ("requantize", po::value<std::string>(), "q4k or q6k: every product matrix requantised to it")
      ("cpu", "decode with the CPU fp64 reference alone")
      ("format", po::value<std::string>()->default_value("text"), "text or json")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: all cores)")
      ("policy", po::value<std::string>(), "policy file (default: KPOLICY_FILE, /etc/kpolicy/policy.yaml, built-in)")
      ("contracts", po::value<std::string>(), kRunContractsHelp)
      ("env", po::value<std::vector<std::string>>(), "NAME=VALUE added to the environment (repeatable)")
      ("clean-env", "start from an empty environment: only --env variables are set");
  auto parsed = ParseCommandLine(args, options);
  if (!parsed.ok()) {
    io.err << "policyctl run: error: " << parsed.error().message << "\n";
    return Fail(kExitUsage);
  }
  const po::variables_map& vm = *parsed;
  if (vm.count("help")) {
    io.out << options << "Starts the runtime as a server would, loads the model and decodes greedily with\n"
                         "the dispatched GEMV kernels (Q4_K/Q6_K matrices; the others on the CPU fp64\n"
                         "reference), then compares each position's logits with the fp64 reference run\n"
                         "teacher-forced on the reference's own tokens. --cpu, or no GPU: the reference alone.\n";
    return Fail(kExitOk);
  }
  auto usage = [&](const std::string& message) -> Expected<RunModelOptions, int> {
    io.err << "policyctl run: error: " << message << "\nTry 'policyctl run --model FILE --help'.\n";
    return Fail(kExitUsage);
  };
  RunModelOptions o;
  o.path = vm["model"].as<std::string>();
  if (vm.count("prompt") && vm.count("prompt-tokens")) return usage("give --prompt or --prompt-tokens, not both");
  if (vm.count("prompt")) o.prompt = vm["prompt"].as<std::string>();
  if (vm.count("prompt-tokens")) {
    auto ids = ParseTokenIds(vm["prompt-tokens"].as<std::string>());
    if (!ids.ok()) return usage(ids.error().message);
    o.prompt_tokens = std::move(*ids);
  }
  o.tokens = vm["tokens"].as<int64_t>();
  if (o.tokens < 1) return usage("--tokens takes a positive count");
  if (vm.count("requantize")) {
    const std::string r = vm["requantize"].as<std::string>();
    if (r != "q4k" && r != "q6k") return usage("--requantize is q4k or q6k, not '" + r + "'");
    o.requantize = r == "q6k" ? kn::WeightFormat::kQ6K : kn::WeightFormat::kQ4K;
  }
  o.cpu = vm.count("cpu") > 0;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json") return usage("--format is text or json, not '" + format + "'");
  o.json = format == "json";
  o.threads = vm["threads"].as<int>();
  auto env = BuildEnvironment(vm, io);
  if (!env.ok()) return usage(env.error());
  if (vm.count("policy")) start.policy_path = vm["policy"].as<std::string>();
  if (vm.count("contracts")) start.contracts_path = vm["contracts"].as<std::string>();
  start.environment = *env;
  return o;
}

void WriteGenerationJson(JsonWriter& json, const Generation& g, std::span<const int32_t> prompt) {
  json.Key("tokens_per_second").BeginObject();
  json.Key("prefill").Double(g.prefill_seconds > 0 ? static_cast<double>(prompt.size()) / g.prefill_seconds : 0);
  json.Key("decode").Double(g.decode_seconds > 0 ? static_cast<double>(g.decode_steps) / g.decode_seconds : 0);
  json.EndObject();
  json.Key("prefill_seconds").Double(g.prefill_seconds);
  json.Key("decode_seconds").Double(g.decode_seconds);
  json.Key("decode_steps").Int(g.decode_steps);
  json.Key("stopped_at_end_of_generation").Bool(g.stopped);
}

}  // namespace

std::optional<std::string> ModelFileArgument(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--model" && i + 1 < args.size()) value = args[i + 1];
    else if (args[i].rfind("--model=", 0) == 0) value = args[i].substr(8);
    else continue;
    std::error_code ec;
    const bool gguf = value.size() > 5 && value.substr(value.size() - 5) == ".gguf";
    if (gguf || std::filesystem::is_regular_file(value, ec)) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

int RunModel(const std::vector<std::string>& args, Io& io) {
  runtime::StartOptions start;
  auto parsed = ParseRunModel(args, io, start);
  if (!parsed.ok()) return parsed.error();
  const RunModelOptions& o = *parsed;
  // The model served is a fact rules and records are keyed by; a file that
  // does not read fails below with its own error.
  if (auto facts = ReadGgufModelFacts(o.path); facts.ok()) start.model = *facts;

  auto rt = runtime::Runtime::Start(start);
  if (!rt.ok()) {
    io.err << "policyctl run: startup failed: " << rt.error().ToString() << "\n";
    return kExitNo;
  }
  const runtime::Runtime& r = **rt;
  const runtime::DispatchTable& dispatch = r.dispatch();

  auto model_error = [&](const Error& error) {
    io.err << "policyctl run: " << o.path << ": " << error.ToString() << "\n";
    return ModelErrorStatus(error);
  };
  auto file = kn::GgufFile::Open(o.path);
  if (!file.ok()) return model_error(file.error());
  // The config first: an unsupported architecture is reported as such
  // (exit 1) before anything else about the file.
  auto config = model::ReadModelConfig(*file);
  if (!config.ok()) return model_error(config.error());
  auto tokenizer = model::Tokenizer::FromGguf(*file);
  if (!tokenizer.ok()) return model_error(tokenizer.error());
  auto weights = model::LoadModelWeights(*file, *config);
  if (!weights.ok()) return model_error(weights.error());

  std::vector<int32_t> prompt =
      o.prompt_tokens.empty() ? tokenizer->Encode(o.prompt, tokenizer->adds_bos()) : o.prompt_tokens;
  for (int32_t id : prompt) {
    if (id >= config->n_vocab) {
      io.err << "policyctl run: error: prompt token " << id << " is outside " << o.path << "'s vocabulary of "
             << config->n_vocab << "\n";
      return kExitUsage;
    }
  }
  if (prompt.empty()) {
    io.err << "policyctl run: error: the prompt is empty\n";
    return kExitUsage;
  }

  // The GPU path: the dispatched kernels (with the reference over the same
  // weights for parity); else the reference alone.
  const bool on_gpu = !o.cpu && dispatch.gpu;
  std::string path_description;
  std::unique_ptr<runtime::DispatchedModelMatVec> dispatched;
  std::unique_ptr<model::FormatMatrices> requantized;
  std::unique_ptr<model::ReferenceMatVec> cpu_reference;
  if (on_gpu) {
    runtime::ModelMatVecOptions mo;
    mo.requantize = o.requantize;
    mo.threads = o.threads;
    auto d = runtime::DispatchedModelMatVec::Create(r, *weights, mo);
    if (!d.ok()) {
      io.err << "policyctl run: " << d.error().ToString() << "\n";
      return kExitNo;
    }
    dispatched = std::move(*d);
    path_description = "GPU: " + dispatched->description();
  } else {
    Expected<model::ReferenceMatVec> reference = [&]() -> Expected<model::ReferenceMatVec> {
      if (!o.requantize) return model::ReferenceMatVec::Create(*weights, o.threads);
      auto m = model::FormatMatrices::Requantized(*weights, *o.requantize, o.threads);
      if (!m.ok()) return Fail(std::move(m).error());
      requantized = std::make_unique<model::FormatMatrices>(std::move(*m));
      return model::RequantizedReference(*weights, *requantized, o.threads);
    }();
    if (!reference.ok()) return model_error(reference.error());
    cpu_reference = std::make_unique<model::ReferenceMatVec>(std::move(*reference));
    path_description = "CPU fp64 reference only (" +
                       std::string(o.cpu ? "--cpu" : "no GPU kernels: " + r.cpu_only_reason()) +
                       (o.requantize ? std::string(", weights requantised to ") +
                                           std::string(kn::WeightFormatName(*o.requantize))
                                     : std::string()) +
                       ")";
  }
  model::MatVec& matvec = on_gpu ? dispatched->matvec() : *cpu_reference;
  model::Decoder decoder(*config, *weights, matvec);
  auto generation = Generate(decoder, *tokenizer, prompt, o.tokens);
  if (!generation.ok()) {
    io.err << "policyctl run: decoding " << o.path << ": " << generation.error().ToString() << "\n";
    return kExitNo;
  }
  const std::string text = tokenizer->Decode(generation->tokens);

  // Parity (GPU only): the reference's own greedy tokens, both sides
  // teacher-forced on them so that positions align.
  std::optional<model::ModelParity> parity;
  std::vector<int32_t> reference_tokens;
  if (on_gpu) {
    const int64_t positions = static_cast<int64_t>(prompt.size()) + static_cast<int64_t>(generation->tokens.size());
    auto sequence = model::ReferenceSequence(*config, *weights, dispatched->reference(), prompt, positions);
    if (!sequence.ok()) return model_error(sequence.error());
    reference_tokens.assign(sequence->begin() + static_cast<int64_t>(prompt.size()), sequence->end());
    auto measured = model::MeasureModelParity(*config, *weights, *sequence, dispatched->reference(),
                                              dispatched->matvec(), kn::kMaxGemvRows);
    if (!measured.ok()) {
      io.err << "policyctl run: parity: " << measured.error().ToString() << "\n";
      return kExitNo;
    }
    parity = std::move(*measured);
  }

  const std::string model_name = MetadataString(*file, "general.name");
  const std::map<std::string, int> types = TensorTypes(*file);
  if (o.json) {
    JsonWriter json(2);
    json.BeginObject();
    json.Key("model").BeginObject();
    json.Key("file").String(std::filesystem::path(o.path).filename().string());
    json.Key("name").String(model_name);
    json.Key("architecture").String(std::string(model::ArchitectureName(config->arch)));
    json.Key("size_bytes").Int(static_cast<int64_t>(file->file_size()));
    json.Key("tensor_types").BeginObject();
    for (const auto& [type, count] : types) json.Key(type).Int(count);
    json.EndObject();
    json.Key("requantized").String(o.requantize ? std::string(kn::WeightFormatName(*o.requantize)) : "no");
    json.EndObject();
    json.Key("decision").BeginObject();
    json.Key("policy").String(r.policy().name + " " + r.policy().version);
    json.Key("device").String(r.decision().device.name);
    json.Key("gpu").Bool(dispatch.gpu);
    json.Key("q4k").String(dispatch.q4k);
    json.Key("q6k").String(dispatch.q6k);
    json.Key("mwv_warps").Int(dispatch.mwv_warps);
    json.EndObject();
    json.Key("path").String(path_description);
    json.Key("prompt_tokens").BeginArray();
    for (int32_t id : prompt) json.Int(id);
    json.EndArray();
    json.Key("generated_tokens").BeginArray();
    for (int32_t id : generation->tokens) json.Int(id);
    json.EndArray();
    json.Key("text").String(text);
    WriteGenerationJson(json, *generation, prompt);
    json.Key("parity");
    if (parity) {
      json.BeginObject();
      json.Key("against").String("CPU fp64 reference, teacher-forced on its own greedy tokens");
      json.Key("reference_tokens").BeginArray();
      for (int32_t id : reference_tokens) json.Int(id);
      json.EndArray();
      json.Key("summary");
      WriteJson(*parity, json, true);
      json.EndObject();
    } else {
      json.BeginObject().Key("reference_only").Bool(true).EndObject();
    }
    json.EndObject();
    io.out << json.text() << "\n";
    return kExitOk;
  }

  io.out << "policy   " << r.policy().name << " " << r.policy().version << "  (" << r.source().Describe() << ")\n";
  io.out << "records  " << r.evidence_source().Describe() << "\n";
  io.out << "device   " << r.decision().device.name << "; q4k " << dispatch.q4k << ", q6k " << dispatch.q6k
         << ", mwv_warps " << dispatch.mwv_warps << "\n";
  io.out << "model    " << std::filesystem::path(o.path).filename().string() << ": " << model_name << ", "
         << model::ArchitectureName(config->arch) << ", " << file->file_size() << " bytes, tensors";
  for (const auto& [type, count] : types) io.out << " " << type << " x" << count;
  io.out << "\npath     " << path_description << "\n";
  io.out << "text     " << text << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "speed    prefill %zu tokens in %.3f s (%.1f tokens/s); decode %lld steps in %.3f s (%.2f tokens/s)\n",
                prompt.size(), generation->prefill_seconds,
                generation->prefill_seconds > 0 ? prompt.size() / generation->prefill_seconds : 0.0,
                static_cast<long long>(generation->decode_steps), generation->decode_seconds,
                generation->decode_seconds > 0 ? generation->decode_steps / generation->decode_seconds : 0.0);
  io.out << line;
  if (parity) {
    io.out << "parity   against the CPU fp64 reference, teacher-forced on its own tokens:\n"
           << model::FormatTable(*parity);
  } else {
    io.out << "parity   reference only (the CPU fp64 reference decoded; nothing to compare it with)\n";
  }
  return kExitOk;
}

}  // namespace kpolicy::tools
