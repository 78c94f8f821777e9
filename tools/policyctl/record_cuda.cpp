// `policyctl record` with CUDA: every variant of every GEMV operation on the
// standard workloads, against the CPU fp64 reference, into a ParityRecord.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <optional>

#include "exit_codes.h"
#include "kpolicy/kernels/gemm_paths.h"
#include "kpolicy/kernels/gemm_runner.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/gemv_runner.h"
#include "kpolicy/kernels/kernel_timing.h"
#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/workload.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/runtime/device_probe.h"
#include "kpolicy/runtime/dispatch.h"
#include "kpolicy/runtime/model_matvec.h"
#include "model_record.h"
#include "record.h"

namespace kpolicy::tools {
namespace {

namespace po = boost::program_options;
namespace kn = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;

// The standard workloads (contracts/README.md). Fixed seeds and shapes, so
// records of different GPUs measure the same numbers.
constexpr int64_t kGemvN = 4096, kGemvK = 4096;  // Llama-3-8B attention projection
constexpr int kGemvM = 4;                         // batched decode
constexpr int kMassiveChannels = 4;

// Timed replays of a GEMV graph and timed calls of a GEMM path: bench_gemv's
// and bench_prefill's defaults, so a record and a benchmark of the same
// kernel and shape report the same figure (kernel_timing.h).
constexpr int kGemvReplays = 25;
constexpr int kGemmRepeats = 21;

// The record's provenance line saying how its speed fields were measured.
std::string SpeedMethod() {
  return "GEMV rows (us_m1, us_m4: the kernel alone, as bench_gemv; us_*_with_q8_1: each launch also "
         "quantising its activations): " + gpu::GraphTimingMethod(kGemvReplays) +
         ". GEMM rows (us: RunGemm, activation conversion included, as bench_prefill's path rows): " +
         gpu::FlushedTimingMethod(kGemmRepeats);
}

kn::FfnChainSpec DeepFfnSpec(kn::WeightFormat format) {
  kn::FfnChainSpec spec;
  spec.d_model = 1536;  // Qwen2.5-1.5B's width
  spec.d_ff = 4096;
  spec.layers = 4;
  spec.tokens = 4;
  spec.massive_channels = kMassiveChannels;
  spec.format = format;
  return spec;
}

std::string OperationName(kn::GemvOp op) { return std::string(kn::GemvOpName(op)) + "_gemv"; }

// mwv_warps as the compiled-in default policy decides it for `device` with
// no environment overrides: records measure what a default deployment runs.
Expected<int> DefaultMwvWarps(const DeviceFacts& device) {
  auto policy = LoadPolicyText(BuiltinDefaultPolicyText(), std::string(kBuiltinDefaultPolicyName));
  if (!policy.ok()) return Fail(ErrorCode::kInternal, "the compiled-in default policy does not load");
  auto decision = Evaluate(*policy, device, Environment{}, {});
  if (!decision.ok()) return Fail(ErrorCode::kInternal, "the default policy does not evaluate: " + decision.error().ToString());
  auto table = runtime::BuildDispatch(*decision, runtime::Capabilities{});
  if (!table.ok()) return Fail(std::move(table).error());
  return table->mwv_warps;
}

struct GemvCase {
  std::string workload;
  kn::WeightMatrix weights;
  kn::Activations x;
  std::vector<double> reference;
};

// plain, massive and fp16-overflow-sum at the GEMV shape, weights quantised
// to `format` (damped where the activations are enlarged; plain has none).
std::vector<GemvCase> GemvCases(kn::WeightFormat format) {
  kn::ActivationSpec plain;
  plain.rows = kGemvM;
  plain.cols = kGemvK;
  kn::ActivationSpec massive = plain;
  massive.massive_channels = kMassiveChannels;
  const struct {
    const char* workload;
    uint64_t seed;
    kn::ActivationSpec spec;
  } kWorkloads[] = {
      {"plain", 12, plain},
      {"massive", 13, massive},
      {"fp16-overflow-sum", 14, kn::Fp16OverflowSumSpec(kGemvM, kGemvK)},
  };
  std::vector<GemvCase> cases;
  for (const auto& workload : kWorkloads) {
    GemvCase c;
    c.workload = workload.workload;
    c.x = kn::MakeActivations(workload.seed, workload.spec);
    std::vector<float> w = kn::GaussianWeights(11, kGemvN, kGemvK);
    kn::DampMassiveColumns(w, kGemvN, kGemvK, c.x.massive, c.x.massive_factor);
    c.weights = kn::QuantizeWeights(format, w, kGemvN, kGemvK);
    c.reference = kn::ReferenceGemv(c.weights.view(), c.x.values, kGemvM);
    cases.push_back(std::move(c));
  }
  return cases;
}

// The GEMM paths, as the boolean knobs that switch them on name them: the
// operation a contract constrains, the knob's value, the path, the rows.
struct GemmCase {
  const char* operation;
  const char* variant;
  gpu::GemmPath path;
  int rows;
};
constexpr GemmCase kGemmCases[] = {
    {"prefill_gemm", "true", gpu::GemmPath::kFp8Lt, 64},        // fp8_prefill = true
    {"prefill_gemm", "false", gpu::GemmPath::kF16Cublas, 64},   // fp8_prefill = false
    {"fp8_decode_gemm", "true", gpu::GemmPath::kFp8Lt, kGemvM}, // fp8_decode = true
    {"hgemm_decode_gemm", "true", gpu::GemmPath::kF16Cublas, 1},
    {"w4a16_decode_gemm", "true", gpu::GemmPath::kW4a16Interleaved, kGemvM},
};

// Every GEMM path on the plain and massive workloads (Q4_K weights at the
// GEMV shape, `rows` activation rows), against the fp64 reference.
void RecordGemmPaths(ParityRecord& record, Io& io, int& failures) {
  for (const GemmCase& g : kGemmCases) {
    io.err << "record: " << g.operation << " " << g.variant << " (" << gpu::GemmPathName(g.path) << ")\n";
    for (const bool massive : {false, true}) {
      kn::ActivationSpec spec;
      spec.rows = g.rows;
      spec.cols = kGemvK;
      spec.massive_channels = massive ? kMassiveChannels : 0;
      const kn::Activations x = kn::MakeActivations(massive ? 23 : 22, spec);
      std::vector<float> w = kn::GaussianWeights(21, kGemvN, kGemvK);
      if (massive) kn::DampMassiveColumns(w, kGemvN, kGemvK, x.massive, x.massive_factor);
      const kn::WeightMatrix weights = kn::QuantizeWeights(kn::WeightFormat::kQ4K, w, kGemvN, kGemvK);
      auto y = gpu::RunGemmPathOnHost(g.path, weights.view(), x.values, g.rows);
      if (!y.ok()) {
        io.err << "  " << (massive ? "massive" : "plain") << ": " << y.error().ToString() << "\n";
        ++failures;
        continue;
      }
      Measurement m;
      m.operation = g.operation;
      m.variant = g.variant;
      m.workload = massive ? "massive" : "plain";
      m.shape = "n=" + std::to_string(kGemvN) + " k=" + std::to_string(kGemvK) + " m=" + std::to_string(g.rows) +
                " (" + std::string(gpu::GemmPathName(g.path)) + ", Q4_K weights)";
      const std::vector<double> reference = kn::ReferenceGemv(weights.view(), x.values, g.rows);
      m.metrics = kn::ComputeParity(reference, *y, kGemvN).ByRecordName();
      if (!massive) {
        auto us = gpu::MedianGemmPathMicroseconds(g.path, weights.view(), g.rows, kGemmRepeats);
        if (us.ok()) {
          m.speed["us"] = *us;
          m.speed["tflops"] = 2.0 * kGemvN * kGemvK * g.rows / (*us * 1e6);
        } else {
          io.err << "  timing: " << us.error().ToString() << "\n";
          ++failures;
        }
      }
      record.results.push_back(std::move(m));
    }
  }
}

struct GemvSettings {
  int mwv_warps;  // what the default policy decides for this device
};

// Every row of `table` on the plain, massive and deep-FFN workloads, timed
// on the plain one. A row without a kernel (not built) counts as a failure.
void RecordGemvVariants(ParityRecord& record, Io& io, int& failures, const GemvSettings& settings,
                        kn::GemvVariantTable table = kn::BuiltinGemvVariants()) {
  for (const kn::GemvOp op : kn::kGemvOps) {
    const kn::WeightFormat format = kn::GemvOpFormat(op);
    const std::vector<GemvCase> cases = GemvCases(format);
    const kn::FfnChain chain = kn::MakeFfnChain(1, DeepFfnSpec(format));
    const std::vector<double> chain_reference = kn::RunFfnChain(chain, kn::ReferenceGemvFn());
    for (const kn::GemvVariant* row : kn::GemvVariantsOf(op, table)) {
      const kn::GemvVariant& v = *row;
      io.err << "record: " << OperationName(op) << " " << v.name << "\n";
      for (const GemvCase& c : cases) {
        auto gemv = gpu::DeviceGemv::Create(v, c.weights.view());
        auto y = gemv.ok() ? gemv->Run(c.x.values, kGemvM, settings.mwv_warps) : Fail(gemv.error());
        if (!y.ok()) {
          io.err << "  " << c.workload << ": " << y.error().ToString() << "\n";
          ++failures;
          continue;
        }
        Measurement m;
        m.operation = OperationName(op);
        m.variant = std::string(v.name);
        m.workload = c.workload;
        m.shape = "n=" + std::to_string(kGemvN) + " k=" + std::to_string(kGemvK) + " m=" + std::to_string(kGemvM);
        m.metrics = kn::ComputeParity(c.reference, *y, kGemvN).ByRecordName();
        if (c.workload == "plain") {
          using Quantisation = gpu::DeviceGemv::Quantisation;
          for (const int rows : {1, kGemvM}) {
            for (const Quantisation q : {Quantisation::kExcluded, Quantisation::kIncluded}) {
              if (q == Quantisation::kIncluded && !v.quantizes_activations()) continue;
              auto us = gemv->MedianMicroseconds(rows, settings.mwv_warps, kGemvReplays, q);
              if (!us.ok()) {
                io.err << "  timing: " << us.error().ToString() << "\n";
                ++failures;
                continue;
              }
              const std::string suffix = "_m" + std::to_string(rows) + (q == Quantisation::kIncluded ? "_with_q8_1" : "");
              m.speed["us" + suffix] = *us;
              m.speed["weight_gbps" + suffix] = static_cast<double>(gemv->weight_bytes()) / (*us * 1e3);
            }
          }
          m.note = v.quantizes_activations()
                       ? "us_m1/us_m4 time the GEMV kernel alone; the _with_q8_1 fields include the Q8_1 activation quantisation"
                       : "";
        }
        record.results.push_back(std::move(m));
      }
      // The deep-FFN chain through this variant: a device GEMV per weight
      // matrix, created as the chain asks for it.
      std::optional<Error> chain_error;
      const kn::GemvFn on_device = [&](const kn::WeightView& w, std::span<const float> x, int64_t rows) {
        std::vector<double> out(static_cast<size_t>(rows * w.rows), std::nan(""));
        auto g = gpu::DeviceGemv::Create(v, w);
        auto y = g.ok() ? g->Run(x, static_cast<int>(rows), settings.mwv_warps) : Fail(g.error());
        if (!y.ok()) {
          chain_error = y.error();
          return out;
        }
        std::copy(y->begin(), y->end(), out.begin());
        return out;
      };
      const std::vector<double> chain_out = kn::RunFfnChain(chain, on_device);
      if (chain_error) {
        io.err << "  deep-ffn: " << chain_error->ToString() << "\n";
        ++failures;
        continue;
      }
      Measurement m;
      m.operation = OperationName(op);
      m.variant = std::string(v.name);
      m.workload = "deep-ffn";
      const kn::FfnChainSpec spec = DeepFfnSpec(format);
      m.shape = "d_model=" + std::to_string(spec.d_model) + " d_ff=" + std::to_string(spec.d_ff) + " layers=" +
                std::to_string(spec.layers) + " tokens=" + std::to_string(spec.tokens);
      m.metrics = kn::ComputeParity(chain_reference, chain_out, spec.d_model).ByRecordName();
      record.results.push_back(std::move(m));
    }
  }
}

// Each variant on the device (runtime::DeviceMatVec) with the record's
// mwv_warps.
ModelCandidateFactory DeviceCandidates(int mwv_warps) {
  return [mwv_warps](const kn::GemvVariant& variant, const model::FormatMatrices& matrices,
                     model::MatVec& reference) -> Expected<std::unique_ptr<model::MatVec>> {
    auto device = runtime::DeviceMatVec::Create(matrices, variant, mwv_warps, reference);
    if (!device.ok()) return Fail(std::move(device).error());
    return std::unique_ptr<model::MatVec>(std::move(*device));
  };
}


}  // namespace

int RunRecord(const std::vector<std::string>& args, Io& io) {
  if (std::find(args.begin(), args.end(), "--emulate") != args.end()) return RecordEmulatedModels(args, io);
  po::options_description options("policyctl record --out FILE [--model FILE.gguf]...");
  options.add_options()
      ("help,h", "show this help")
      ("out", po::value<std::string>(), "the record to write, e.g. contracts/parity/h100.yaml")
      ("model", po::value<std::vector<std::string>>(),
       "a GGUF model: adds its model-level rows (workload model-parity-gate; repeatable)")
      ("positions", po::value<int64_t>()->default_value(32), "positions per model, >= 32")
      ("git-commit", po::value<std::string>()->default_value(KPOLICY_GIT_COMMIT),
       "the commit the kernels were built from (default: the configured source tree's)");
  auto parsed = ParseCommandLine(args, options);
  if (!parsed.ok()) {
    io.err << "policyctl record: error: " << parsed.error().message << "\n";
    return kExitUsage;
  }
  const po::variables_map& vm = *parsed;
  if (vm.count("help")) {
    io.out << options << "Runs every Q4_K and Q6_K GEMV variant on the standard workloads (plain,\n"
                         "massive and fp16-overflow-sum at 4096x4096, M=4; the deep-FFN chain) and\n"
                         "every GEMM path (FP8 cuBLASLt, FP16 cuBLAS, W4A16) against the CPU fp64\n"
                         "reference, times each, and writes the record with the device, driver, date\n"
                         "and commit. Each --model adds one model-level row per Q4_K and Q6_K variant\n"
                         "(model-parity-gate). --emulate: the CPU emulation's model-level rows only.\n";
    return kExitOk;
  }
  if (!vm.count("out")) {
    io.err << "policyctl record: error: --out FILE is required\n";
    return kExitUsage;
  }
  auto device = runtime::ProbeLocalDevice();
  if (!device.ok()) {
    io.err << "policyctl record: error: " << device.error().ToString() << "\n";
    return kExitUsage;
  }
  ParityRecord record;
  record.device = *device;
  Provenance& p = record.provenance;
  p.kind = "measured";
  p.date = TodayUtc();
  p.driver = device->driver_version;
  p.cuda_runtime = device->runtime_version;
  p.tool_version = "kpolicy " KPOLICY_VERSION;
  p.git_commit = vm["git-commit"].as<std::string>();
  p.command = "policyctl record";
  for (const std::string& a : args) p.command += " " + a;

  p.speed_method = SpeedMethod();

  auto mwv_warps = DefaultMwvWarps(record.device);
  if (!mwv_warps.ok()) {
    io.err << "policyctl record: error: " << mwv_warps.error().ToString() << "\n";
    return kExitUsage;
  }
  int failures = 0;
  RecordGemvVariants(record, io, failures, {*mwv_warps});
  RecordGemmPaths(record, io, failures);
  if (vm.count("model")) {
    ModelRecordOptions model_options;
    model_options.positions = vm["positions"].as<int64_t>();
    for (const std::string& path : vm["model"].as<std::vector<std::string>>()) {
      Status status = AppendModelParityRows(path, DeviceCandidates(*mwv_warps), model_options, record.results, io.err);
      if (!status.ok()) {
        io.err << "  " << status.error().ToString() << "\n";
        ++failures;
      }
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
  io.out << "record: " << record.results.size() << " measurements of " << record.device.name << " written to "
         << out_path << (failures ? " (" + std::to_string(failures) + " failed: see above)" : "") << "\n";
  return failures ? kExitNo : kExitOk;
}

}  // namespace kpolicy::tools
