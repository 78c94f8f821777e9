#include "model_record.h"

#include <boost/program_options.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "exit_codes.h"
#include "kpolicy/model/decoder.h"
#include "kpolicy/model/model_parity.h"
#include "kpolicy/model/model_weights.h"
#include "kpolicy/model/tokenizer.h"

namespace kpolicy::tools {
namespace {

namespace kn = kpolicy::kernels;

Measurement RowFor(const kn::GemvVariant& variant, const model::ModelParity& parity, const std::string& shape) {
  Measurement m;
  m.operation = std::string(kn::GemvOpName(variant.op)) + "_gemv";
  m.variant = std::string(variant.name);
  m.workload = kModelParityWorkload;
  m.shape = shape;
  m.metrics["cosine"] = parity.min_cosine;
  m.metrics["argmax_agreement"] =
      parity.size() == 0 ? 0.0 : static_cast<double>(parity.argmax_agreement) / static_cast<double>(parity.size());
  m.metrics["first_divergence"] = static_cast<double>(parity.first_divergence);
  m.metrics["nan_count"] = static_cast<double>(parity.non_finite_logits);
  return m;
}

}  // namespace

ModelCandidateFactory EmulationCandidates(int threads) {
  return [threads](const kn::GemvVariant& variant, const model::FormatMatrices& matrices,
                   model::MatVec& reference) -> Expected<std::unique_ptr<model::MatVec>> {
    const kn::GemvEmulationFn emulate = variant.emulate;
    return std::unique_ptr<model::MatVec>(std::make_unique<model::VariantMatVec>(
        matrices,
        [emulate](const kn::WeightView& w, std::span<const float> x, int64_t m) { return emulate(w, x, m); },
        reference, threads));
  };
}

Status AppendModelParityRows(const std::string& path, const ModelCandidateFactory& candidate,
                             const ModelRecordOptions& options, std::vector<Measurement>& rows, std::ostream& log,
                             kn::GemvVariantTable table) {
  if (options.positions < 32) {
    return Fail(ErrorCode::kInvalidArgument, "model-level parity needs at least 32 positions, not " +
                                                 std::to_string(options.positions));
  }
  auto file = kn::GgufFile::Open(path);
  if (!file.ok()) return Fail(std::move(file).error());
  auto config = model::ReadModelConfig(*file);
  if (!config.ok()) return Fail(std::move(config).error());
  auto tokenizer = model::Tokenizer::FromGguf(*file);
  if (!tokenizer.ok()) return Fail(std::move(tokenizer).error());
  auto weights = model::LoadModelWeights(*file, *config);
  if (!weights.ok()) return Fail(std::move(weights).error());

  std::vector<int32_t> tokens;
  {
    auto exact = model::ReferenceMatVec::Create(*weights, options.threads);
    if (!exact.ok()) return Fail(std::move(exact).error());
    const std::vector<int32_t> prompt = tokenizer->Encode(options.prompt, tokenizer->adds_bos());
    auto sequence = model::ReferenceSequence(*config, *weights, *exact, prompt, options.positions);
    if (!sequence.ok()) return Fail(std::move(sequence).error());
    tokens = std::move(*sequence);
    log << "record: " << path << ": " << tokens.size() << " positions (" << prompt.size()
        << " prompt tokens and the fp64 reference's greedy continuation)\n";
  }
  const std::string model_name = std::filesystem::path(path).filename().string();

  for (const kn::GemvOp op : kn::kGemvOps) {
    const kn::WeightFormat format = kn::GemvOpFormat(op);
    auto matrices = model::FormatMatrices::Requantized(*weights, format, options.threads);
    if (!matrices.ok()) return Fail(std::move(matrices).error());
    auto reference = model::RequantizedReference(*weights, *matrices, options.threads);
    if (!reference.ok()) return Fail(std::move(reference).error());
    model::Decoder reference_decoder(*config, *weights, *reference);
    auto reference_logits = model::TeacherForced(reference_decoder, tokens);
    if (!reference_logits.ok()) return Fail(std::move(reference_logits).error());

    const std::string shape = model_name + " (" + std::string(model::ArchitectureName(config->arch)) +
                              "), every product matrix requantised to " +
                              std::string(kn::WeightFormatName(format)) + " (tied output included), " +
                              std::to_string(tokens.size()) + " positions";
    // The class's measurement, by arithmetic, when one stands for all.
    std::map<kn::Arithmetic, std::pair<model::ModelParity, std::string>> measured;
    for (const kn::GemvVariant* variant : kn::GemvVariantsOf(op, table)) {
      const std::string label = std::string(kn::GemvOpName(op)) + " " + std::string(variant->name);
      if (options.one_per_arithmetic) {
        if (auto found = measured.find(variant->arithmetic); found != measured.end()) {
          Measurement row = RowFor(*variant, found->second.first, shape);
          row.note = options.candidate_name + " of the " + std::string(kn::ArithmeticName(variant->arithmetic)) +
                     " class, measured once as " + found->second.second + " (the class's variants share its arithmetic)";
          rows.push_back(std::move(row));
          continue;
        }
      }
      log << "record: " << model_name << " " << label << " (" << options.candidate_name << ")\n";
      auto matvec = candidate(*variant, *matrices, *reference);
      if (!matvec.ok()) return Fail(std::move(matvec).error());
      model::Decoder decoder(*config, *weights, **matvec);
      auto logits = model::TeacherForced(decoder, tokens);
      if (!logits.ok()) {
        Error error = std::move(logits).error();
        error.message = label + " on " + model_name + ": " + error.message;
        return Fail(std::move(error));
      }
      auto parity = model::CompareLogits(tokens, *reference_logits, *logits);
      if (!parity.ok()) return Fail(std::move(parity).error());
      log << "  " << model::FormatSummary(*parity) << "\n";
      Measurement row = RowFor(*variant, *parity, shape);
      if (options.one_per_arithmetic) {
        row.note = options.candidate_name + " of the " + std::string(kn::ArithmeticName(variant->arithmetic)) +
                   " class (the class's variants share its arithmetic)";
        measured.emplace(variant->arithmetic, std::make_pair(*parity, label));
      }
      rows.push_back(std::move(row));
    }
  }
  return {};
}

}  // namespace kpolicy::tools

namespace kpolicy::tools {

int ModelErrorStatus(const Error& error) {
  // A model the decoder cannot run (its architecture, a tensor type) is a
  // "no"; a file that is missing, truncated or corrupt is unreadable input.
  return error.code == ErrorCode::kUnsupported ? kExitNo : kExitUsage;
}

int RecordEmulatedModels(const std::vector<std::string>& args, Io& io) {
  namespace po = boost::program_options;
  po::options_description options("policyctl record --emulate --model FILE... --out FILE");
  options.add_options()
      ("help,h", "show this help")
      ("emulate", "measure with each variant's CPU emulation (no GPU)")
      ("model", po::value<std::vector<std::string>>(), "a GGUF model file (repeatable)")
      ("out", po::value<std::string>(), "the record to write, e.g. contracts/emulation/cpu-emulation.yaml")
      ("positions", po::value<int64_t>()->default_value(32), "positions per model, >= 32")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: all cores)")
      ("git-commit", po::value<std::string>()->default_value(KPOLICY_GIT_COMMIT), "the commit measured");
  auto parsed = ParseCommandLine(args, options);
  if (!parsed.ok()) {
    io.err << "policyctl record: error: " << parsed.error().message << "\n";
    return kExitUsage;
  }
  const po::variables_map& vm = *parsed;
  if (vm.count("help")) {
    io.out << options << "Measures every Q4_K and Q6_K variant inside each model through its CPU emulation\n"
                         "(one pass per arithmetic class) against the fp64 reference, workload\n"
                         "model-parity-gate, and writes the rows as a record that names no GPU.\n";
    return kExitOk;
  }
  if (!vm.count("model") || !vm.count("out")) {
    io.err << "policyctl record: error: --emulate needs --model FILE (repeatable) and --out FILE\n";
    return kExitUsage;
  }
  ParityRecord record;
  // A record names a compute capability; 7.5 is the lowest any variant
  // runs on (every row's min_cc), i.e. the emulated arithmetic is that of
  // every GPU the kernels are built for. num_sms 0: no chip was measured.
  record.device.name = "CPU emulation (no GPU) of the sm_75+ kernels' arithmetic";
  record.device.cc_major = 7;
  record.device.cc_minor = 5;
  record.device.source = "policyctl record --emulate";
  Provenance& p = record.provenance;
  p.kind = "reported";
  p.date = TodayUtc();
  p.source = "CPU emulation of each GEMV variant's arithmetic (kernels/gemv_variants.h emulate column), kpolicy " KPOLICY_VERSION
             " (" + vm["git-commit"].as<std::string>() + "): policyctl record";
  for (const std::string& a : args) p.source += " " + a;

  ModelRecordOptions model_options;
  model_options.positions = vm["positions"].as<int64_t>();
  model_options.threads = vm["threads"].as<int>();
  model_options.one_per_arithmetic = true;
  model_options.candidate_name = "CPU emulation";
  for (const std::string& path : vm["model"].as<std::vector<std::string>>()) {
    Status status = AppendModelParityRows(path, EmulationCandidates(model_options.threads), model_options,
                                          record.results, io.err);
    if (!status.ok()) {
      io.err << "policyctl record: " << status.error().ToString() << "\n";
      return status.error().code == ErrorCode::kInvalidArgument ? kExitUsage : ModelErrorStatus(status.error());
    }
  }
  const std::string out_path = vm["out"].as<std::string>();
  record.file = out_path;
  std::ofstream out(out_path);
  out << FormatParityRecord(record);
  if (!out) {
    io.err << out_path << ": error: cannot write the record\n";
    return kExitUsage;
  }
  io.out << "record: " << record.results.size() << " model-level rows (CPU emulation) written to " << out_path << "\n";
  return kExitOk;
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&now));
  return buf;
}

}  // namespace kpolicy::tools
