#include "commands.h"

#include <boost/program_options.hpp>

#include <chrono>
#include <memory>
#include <sstream>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>

#include "batch.h"
#include "config_server.h"
#include "device_selection.h"
#include "fleet_commands.h"
#include "lint_command.h"
#include "local_gpus.h"
#include "printable_output.h"
#include "test_command.h"
#include "model_facts.h"
#include "record.h"
#include "run_model.h"
#include "exit_codes.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/explain.h"
#include "kpolicy/input_file.h"
#include "kpolicy/json.h"
#include "kpolicy/limits.h"
#include "decoder_layers.h"
#include "kpolicy/runtime/runtime.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/spelling.h"

namespace kpolicy::tools {
namespace po = boost::program_options;

Expected<po::variables_map> ParseCommandLine(const std::vector<std::string>& args,
                                             const po::options_description& options,
                                             const po::positional_options_description* positional) {
  po::variables_map vm;
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Fail(ErrorCode::kInvalidArgument, e.what());
  }
  return vm;
}

CapturedRun RunPolicyctlCaptured(const std::vector<std::string>& args, Environment process_env,
                                 runtime::DeviceProbe local_devices) {
  std::ostringstream out, err;
  Io io{out, err, false, std::move(process_env), std::move(local_devices)};
  CapturedRun run;
  run.status = RunPolicyctl(args, io);
  run.out = out.str();
  run.err = err.str();
  return run;
}

Expected<Policy> LoadNamedPolicy(const std::string& name) {
  if (auto text = BuiltinPolicyText(name)) return LoadPolicyText(*text, name);
  return LoadPolicyFile(name);
}

Expected<ContractSet, int> LoadContractSet(const std::string& directory, const std::string& records_directory,
                                           Io& io) {
  auto set = LoadEvidenceSet(directory, records_directory);
  if (set.ok()) return std::move(set).value();
  io.err << set.error().ToString() << "\n";
  // Both folders are input: a missing one is unreadable input (exit 2),
  // whichever it is; a file that does not load is a "no" (exit 1).
  return Fail(set.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo);
}

namespace {

constexpr const char* kUsage = R"(usage: policyctl COMMAND [OPTIONS]

Commands:
  validate FILE...     check policy files; diagnostics as FILE:LINE:COL: error: MESSAGE
  eval                 decide every knob for one device (or a --batch of cases)
  explain              decide and show why: rules tried, values read, overrides, warnings
  devices              list the built-in GPU catalog
  check                check policies against the contracts and recorded parity data
  record --out FILE    measure every kernel variant on the local GPU into a parity record
  run                  start the runtime and run a decoder-layer stack with the dispatched kernels
  run --model F.gguf   decode a real model with the dispatched kernels, with parity against fp64
  fleet --inventory F  every node's decision (kubectl get nodes -o json or a YAML inventory), grouped
  diff --policy A --policy B   which knobs change on which nodes, and the rules on each side
  lint FILE...         dead and shadowed rules, unreachable overrides, unused facts, values no
                       record covers, fallbacks that break a contract; FILE:LINE:COL: warning: ...
  test FILE...         run operators' own cases (expected knob values and rules), with rule coverage

Device (eval, explain): --device NAME | --cc MAJOR.MINOR [--sms N] | the local GPU
Exit status: 0 success, 1 the answer is no (invalid policy), 2 usage error or unreadable input.
'policyctl COMMAND --help' shows a command's options.
)";


int Usage(Io& io, const std::string& command, const std::string& message) {
  io.err << "policyctl " << command << ": error: " << message << "\n"
         << "Try 'policyctl " << command << " --help'.\n";
  return kExitUsage;
}

// ---- validate ---------------------------------------------------------------

int Validate(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl validate FILE...");
  options.add_options()("help,h", "show this help")("file", po::value<std::vector<std::string>>(),
                                                    "policy files");
  po::positional_options_description positional;
  positional.add("file", -1);
  auto vm = ParseCommandLine(args, options, &positional);
  if (!vm.ok()) return Usage(io, "validate", vm.error().message);
  if (vm->count("help")) {
    io.out << options << "Checks each policy file (and the files it extends). Exit 0 when all are\n"
                         "valid, 1 when one is invalid, 2 when one cannot be read.\n";
    return kExitOk;
  }
  if (!vm->count("file")) return Usage(io, "validate", "name at least one policy file");
  int status = kExitOk;
  for (const std::string& file : (*vm)["file"].as<std::vector<std::string>>()) {
    auto policy = LoadPolicyFile(file);
    if (!policy.ok()) {
      io.err << policy.error().ToString() << "\n";
      const bool unreadable = policy.error().code == ErrorCode::kUnreadable;
      status = std::max(status, unreadable ? kExitUsage : kExitNo);
      if (!unreadable) {
        const auto& findings = policy.error().findings;
        const auto errors = std::count_if(findings.begin(), findings.end(),
                                          [](const Diagnostic& d) { return d.severity == Severity::kError; });
        io.out << file << ": invalid (" << errors << " error" << (errors == 1 ? "" : "s") << ")\n";
      }
      continue;
    }
    io.err << policy->warnings.ToString();
    io.out << file << ": ok (" << policy->name << " " << policy->version << ", "
           << policy->knobs.size() << " knobs, " << policy->env_slots.size()
           << " environment variables)\n";
  }
  return status;
}

// ---- eval and explain -------------------------------------------------------

struct LoadedPolicy {
  Policy policy;
  std::string origin;
};

// The policy of --policy, or the built-in default.
std::optional<LoadedPolicy> LoadSelectedPolicy(const po::variables_map& vm, Io& io, int& status) {
  const std::string name = vm.count("policy") ? vm["policy"].as<std::string>() : std::string(kBuiltinDefaultPolicyName);
  Expected<Policy> loaded = LoadNamedPolicy(name);
  if (!loaded.ok()) {
    io.err << loaded.error().ToString() << "\n";
    status = loaded.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo;
    return std::nullopt;
  }
  std::string origin = !BuiltinPolicyText(name) ? "--policy"
                       : name == kBuiltinDefaultPolicyName ? "compiled-in copy of policies/default.yaml"
                                                           : "compiled-in copy of policies/compat/seed.yaml";
  return LoadedPolicy{std::move(loaded).value(), origin};
}

bool UseColor(const po::variables_map& vm, const Io& io) {
  const std::string mode = vm["color"].as<std::string>();
  if (mode == "always") return true;
  if (mode == "never") return false;
  if (io.process_env.Find("NO_COLOR")) return false;
  const std::string* term = io.process_env.Find("TERM");
  return io.out_is_terminal && !(term && *term == "dumb");
}

// explain's evidence: --contracts DIR, else ./contracts when it exists.
Expected<std::optional<ContractSet>, int> LoadEvidenceSources(const po::variables_map& vm, Io& io) {
  std::string directory = "contracts";
  std::error_code ec;
  if (vm.count("contracts")) {
    directory = vm["contracts"].as<std::string>();
  } else if (!std::filesystem::is_directory(directory, ec)) {
    return std::optional<ContractSet>();
  }
  auto set = LoadContractSet(directory, directory + "/parity", io);
  if (!set.ok()) return Fail(set.error());
  return std::optional<ContractSet>(std::move(set).value());
}

// --driver, --cuda-runtime and --memory-free replace what the catalog, --cc
// or the probe said.
Status ApplyDeviceOverrides(const po::variables_map& vm, DeviceFacts& device) {
  for (auto [flag, field] : {std::pair{"driver", &DeviceFacts::driver_version},
                             std::pair{"cuda-runtime", &DeviceFacts::runtime_version}}) {
    if (!vm.count(flag)) continue;
    const std::string text = vm[flag].as<std::string>();
    if (!IsVersionText(text)) {
      return Fail(ErrorCode::kInvalidArgument, std::string("--") + flag + " takes a version such as 570.207, not '" + text + "'");
    }
    device.*field = text;
    device.source += std::string(", --") + flag + " " + text;
  }
  if (vm.count("memory-free")) {
    const int64_t mib = vm["memory-free"].as<int64_t>();
    if (mib < 0) return Fail(ErrorCode::kInvalidArgument, "--memory-free is MiB, 0 or more");
    device.memory_free_mib = mib;
  }
  return {};
}

int EvalOrExplain(const std::vector<std::string>& args, Io& io, bool explain) {
  const std::string command = explain ? "explain" : "eval";
  po::options_description options("policyctl " + command + " [OPTIONS]");
  options.add_options()
      ("help,h", "show this help")
      ("policy", po::value<std::string>(), "policy file (default: the built-in default policy)")
      ("device", po::value<std::string>(), "a GPU of the catalog ('policyctl devices')")
      ("cc", po::value<std::string>(), "compute capability MAJOR.MINOR, e.g. 12.1")
      ("sms", po::value<int>(), "SM count with --cc (default: 8, the seed's fallback)")
      ("fallback-device", po::value<std::string>(),
       "a catalog GPU to use when no device is given and there is no local GPU")
      ("driver", po::value<std::string>(), "the driver version, e.g. 570.207 (device.driver)")
      ("cuda-runtime", po::value<std::string>(), "the CUDA runtime version, e.g. 13.0 (device.cuda_runtime)")
      ("memory-free", po::value<int64_t>(), "free device memory in MiB (device.memory_free_mib)")
      ("env", po::value<std::vector<std::string>>(), "NAME=VALUE added to the environment (repeatable)")
      ("clean-env", "start from an empty environment: only --env variables are set")
      ("format", po::value<std::string>()->default_value("text"), "text or json")
      ("color", po::value<std::string>()->default_value("auto"), "auto, always or never");
  options.add_options()
      ("model", po::value<std::string>(), "FILE.gguf: the model's facts (model.architecture, .name, .quantisation, .size)")
      ("contracts", po::value<std::string>(),
       "contracts folder whose records rules ask for and explain cites (default: ./contracts if present)");
  if (explain) {
    options.add_options()("strict", "exit 1 when recorded evidence breaks a contract for a chosen value");
  } else {
    options.add_options()("batch", po::value<std::string>(),
                          "FILE of JSON lines, one case each ('-' for stdin); one JSON line out per line in");
  }
  auto vm = ParseCommandLine(args, options, nullptr);
  if (!vm.ok()) return Usage(io, command, vm.error().message);
  if (vm->count("help")) {
    io.out << options;
    return kExitOk;
  }
  const std::string format = (*vm)["format"].as<std::string>();
  if (format != "text" && format != "json") return Usage(io, command, "--format is text or json, not '" + format + "'");
  const std::string color = (*vm)["color"].as<std::string>();
  if (color != "auto" && color != "always" && color != "never") {
    return Usage(io, command, "--color is auto, always or never, not '" + color + "'");
  }

  if (vm->count("batch")) {
    for (const char* conflicting : {"device", "cc", "sms", "env", "clean-env", "fallback-device", "driver",
                                    "cuda-runtime", "memory-free", "model", "contracts"}) {
      if (vm->count(conflicting)) {
        return Usage(io, command, std::string("--batch cases give their own device and environment; drop --") + conflicting);
      }
    }
    int status = kExitOk;
    auto loaded = LoadSelectedPolicy(*vm, io, status);
    if (!loaded) return status;
    const std::string path = (*vm)["batch"].as<std::string>();
    BatchResult result;
    if (path == "-") {
      result = RunBatch(loaded->policy, std::cin, io.out);
    } else {
      // A FIFO would block the open, /dev/zero never end, a directory read
      // as no lines at all: only a regular file is a batch file.
      Status regular = CheckRegularFile(path);
      std::ifstream in;
      if (regular.ok()) in.open(path, std::ios::binary);
      if (!regular.ok() || !in) {
        io.err << Error(ErrorCode::kUnreadable, SourceLocation{path},
                        "batch file " + (regular.ok() ? std::string("cannot be opened") : regular.error().message))
                      .ToString()
               << "\n";
        return kExitUsage;
      }
      result = RunBatch(loaded->policy, in, io.out, path);
    }
    if (result.stopped) {
      io.err << result.stopped->ToString() << "\n";
      return kExitUsage;
    }
    if (result.errors > 0) {
      io.err << "policyctl eval: " << result.errors << " of " << result.cases << " cases failed\n";
      return kExitNo;
    }
    return kExitOk;
  }

  DeviceRequest request;
  if (vm->count("device")) request.catalog_key = (*vm)["device"].as<std::string>();
  if (vm->count("cc")) request.compute_capability = (*vm)["cc"].as<std::string>();
  if (vm->count("sms")) request.sms = (*vm)["sms"].as<int>();
  if (vm->count("fallback-device")) request.fallback_key = (*vm)["fallback-device"].as<std::string>();
  // Without --device or --cc: every local GPU, each decided on its own.
  auto devices = SelectDevices(request, io.local_devices);
  if (!devices.ok()) return Usage(io, command, devices.error().message);
  for (DeviceFacts& device : *devices) {
    if (auto applied = ApplyDeviceOverrides(*vm, device); !applied.ok()) return Usage(io, command, applied.error().message);
  }
  auto env = BuildEnvironment(*vm, io);
  if (!env.ok()) return Usage(io, command, env.error());

  ModelFacts model;
  if (vm->count("model")) {
    auto read = ReadGgufModelFacts((*vm)["model"].as<std::string>());
    if (!read.ok()) {
      io.err << "policyctl " << command << ": --model: " << read.error().ToString() << "\n";
      return kExitUsage;
    }
    model = std::move(read).value();
  }
  int status = kExitOk;
  auto loaded = LoadSelectedPolicy(*vm, io, status);
  if (!loaded) return status;
  auto evidence = LoadEvidenceSources(*vm, io);
  if (!evidence.ok()) return evidence.error();
  std::optional<RecordEvidence> oracle;
  if (evidence->has_value()) oracle.emplace((*evidence)->contracts, (*evidence)->records);
  std::vector<GpuAnswer> answers;
  int breaks = 0;
  for (size_t i = 0; i < devices->size(); ++i) {
    auto decision = Evaluate(loaded->policy, (*devices)[i], model, *env, {}, oracle ? &*oracle : nullptr);
    if (!decision.ok()) {
      // Nothing is printed for the other GPUs: a host's answer is whole or absent.
      if (devices->size() > 1) io.err << "GPU " << i << " (" << (*devices)[i].name << "): ";
      io.err << decision.error().ToString() << "\n";
      status = kExitNo;
      continue;
    }
    ExplainOptions render;
    render.color = UseColor(*vm, io);
    io.out_styled = render.color;
    render.extra_warnings = FindMisspeltVariables(loaded->policy, *env);
    render.policy_origin = loaded->origin;
    if (explain && evidence->has_value()) {
      render.evidence = FindEvidence(*decision, (*evidence)->contracts, (*evidence)->records);
    }
    for (const auto& [knob, items] : render.evidence) {
      for (const Evidence& e : items) {
        if (e.status != Evidence::kBreaks) continue;
        ++breaks;
        render.extra_warnings.push_back("evidence: " + knob + " = " + decision->ValueText(*loaded->policy.FindKnob(knob)) +
                                        " breaks " + e.contract + ": " + e.claim + " [" + e.source + "]");
      }
    }
    answers.push_back({std::move(decision).value(), std::move(render)});
  }
  if (status != kExitOk) return status;
  io.out << (format == "json" ? RenderGpuAnswersJson(answers, explain) : RenderGpuAnswersText(answers, explain));
  if (explain && breaks > 0 && vm->count("strict")) {
    io.err << "policyctl explain: --strict: " << breaks << " recorded figure" << (breaks == 1 ? "" : "s")
           << " break a contract for the chosen values\n";
    return kExitNo;
  }
  return kExitOk;
}

// ---- check ------------------------------------------------------------------

int Check(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl check [OPTIONS] [POLICY...]");
  options.add_options()
      ("help,h", "show this help")
      ("policy", po::value<std::vector<std::string>>(),
       "policy file (repeatable, or positional; default: the built-in default)")
      ("strict", "exit 1 on an unproven contract too (a chosen value no record speaks for)")
      ("contracts", po::value<std::string>()->default_value("contracts"), "folder of contract files")
      ("records", po::value<std::string>(), "folder of parity records (default: CONTRACTS/parity)")
      ("verbose,v", "list the checks that pass too");
  po::positional_options_description positional;
  positional.add("policy", -1);
  auto vm = ParseCommandLine(args, options, &positional);
  if (!vm.ok()) return Usage(io, "check", vm.error().message);
  if (vm->count("help")) {
    io.out << options << "Evaluates each policy on each recorded GPU (clean environment, then each declared\n"
                         "override) and checks every contract against the recorded figures of the variant\n"
                         "chosen. Exit 1 on a violation in the clean environment; overrides that would\n"
                         "break a contract are warnings; variants without records are unproven.\n";
    return kExitOk;
  }
  const std::string directory = (*vm)["contracts"].as<std::string>();
  const std::string records = vm->count("records") ? (*vm)["records"].as<std::string>() : directory + "/parity";
  auto set = LoadContractSet(directory, records, io);
  if (!set.ok()) return set.error();

  std::vector<std::string> files;
  if (vm->count("policy")) files = (*vm)["policy"].as<std::vector<std::string>>();
  std::vector<Policy> policies;
  int status = kExitOk;
  if (files.empty()) files.push_back(std::string(kBuiltinDefaultPolicyName));
  for (const std::string& file : files) {
    auto p = LoadNamedPolicy(file);
    if (!p.ok()) {
      io.err << p.error().ToString() << "\n";
      status = std::max(status, p.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo);
      continue;
    }
    policies.push_back(std::move(p).value());
  }

  // Grouped by policy and GPU for reading; a violation in the clean
  // environment is also written whole to stderr, for logs.
  const bool verbose = vm->count("verbose") > 0;
  int violations = 0, warnings = 0, unproven = 0, passes = 0, unreached = 0;
  for (const Policy& policy : policies) {
    const CheckReport report = CheckContracts(policy, set->contracts, set->records);
    for (const std::string& e : report.errors) io.err << e << "\n";
    if (!report.errors.empty()) status = std::max(status, kExitNo);
    for (const std::string& r : report.refusals) io.out << "  refused " << r << "\n";
    for (const std::string& u : report.unreached_overrides) io.out << "  not checked: " << u << "\n";
    unreached += static_cast<int>(report.unreached_overrides.size());
    std::string group;
    for (const CheckFinding& f : report.findings) {
      const bool clean = f.environment.empty();
      const char* mark = nullptr;
      switch (f.kind) {
        case CheckFinding::kViolation:
          mark = clean ? "FAIL " : "warn ";
          (clean ? violations : warnings) += 1;
          if (clean) io.err << "violation: " << f.ToString() << "\n";
          break;
        case CheckFinding::kUnproven:
          if (!clean) continue;
          mark = "?    ";
          ++unproven;
          break;
        case CheckFinding::kPass:
          passes += clean;
          if (!verbose) continue;
          mark = "ok   ";
          break;
      }
      const std::string header = f.policy + " on " + f.device + "\n    " + f.provenance;
      if (header != group) {
        io.out << header << "\n";
        group = header;
      }
      io.out << "  " << mark << f.Outcome() << "\n";
    }
  }
  io.out << "check: " << policies.size() << " polic" << (policies.size() == 1 ? "y" : "ies") << ", "
         << set->records.size() << " recorded GPUs, " << set->contracts.size() << " contracts: " << passes
         << " passed, " << violations << " violated, " << unproven << " unproven; " << warnings
         << " violations under environment overrides; " << unreached << " override" << (unreached == 1 ? "" : "s")
         << " not checked (never decide on a recorded GPU)\n";
  if (violations > 0) status = std::max(status, kExitNo);
  if (unproven > 0 && vm->count("strict")) {
    io.err << "policyctl check: --strict: " << unproven << " unproven contract" << (unproven == 1 ? "" : "s") << "\n";
    status = std::max(status, kExitNo);
  }
  return status;
}

// ---- run ----------------------------------------------------------------------

// run --serve PORT [--serve-for SECONDS].
struct ServeOptions {
  std::optional<int> port;  // none: not serving
  std::optional<std::chrono::milliseconds> after_run;  // none: until a signal
};

Expected<ServeOptions> ServeRequest(const po::variables_map& vm) {
  ServeOptions o;
  if (vm.count("serve-for") && !vm.count("serve")) return Fail(ErrorCode::kInvalidArgument, "--serve-for goes with --serve");
  if (!vm.count("serve")) return o;
  o.port = vm["serve"].as<int>();
  if (*o.port < 0 || *o.port > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "--serve takes a TCP port, 0-65535 (0: any free one), not " + std::to_string(*o.port));
  }
  if (vm.count("serve-for")) {
    const double seconds = vm["serve-for"].as<double>();
    // A day at most: a test's bound, not a way to run forever (no flag is).
    if (!(seconds >= 0 && seconds <= 86400)) return Fail(ErrorCode::kInvalidArgument, "--serve-for is 0-86400 seconds");
    o.after_run = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  return o;
}

// After the run: go on serving until SIGINT or SIGTERM, or for --serve-for.
void ServeUntilStopped(EffectiveConfigServer& server, const ServeOptions& o, Io& io) {
  StopSignals signals;  // caught from here on: a signal during the run still ended it as usual
  io.out << "serving  " << server.url() << " until "
         << (o.after_run ? std::to_string(o.after_run->count()) + " ms have passed or " : "") << "SIGINT or SIGTERM\n"
         << std::flush;
  const StopReason why = signals.Wait(o.after_run);
  server.Stop();
  io.out << "serving  stopped (" << (why == StopReason::kSignal ? "signal" : "--serve-for elapsed") << ")\n";
}

int Run(const std::vector<std::string>& args, Io& io) {
  // A --model naming a .gguf file runs that model; a catalog name runs the
  // decoder-layer demo below.
  if (ModelFileArgument(args)) return RunModel(args, io);
  po::options_description options("policyctl run [OPTIONS]");
  options.add_options()
      ("help,h", "show this help")
      ("policy", po::value<std::string>(), "policy file (default: KPOLICY_FILE, /etc/kpolicy/policy.yaml, built-in)")
      ("contracts", po::value<std::string>(), kRunContractsHelp)
      ("model", po::value<std::string>()->default_value("qwen2.5-1.5b"), "qwen2.5-1.5b or llama-3-8b (the demo), or FILE.gguf: a real model (policyctl run --model FILE --help)")
      ("layers", po::value<int>(), "decoder layers in the stack (default: 8 on a GPU, 1 on the CPU)")
      ("tokens", po::value<int>(), "tokens to run, M = 1 each (default: 64 on a GPU, 2 on the CPU)")
      ("prefill", po::value<int>(), "prompt tokens to prefill first (default: 512 on a GPU; not run on the CPU)")
      ("device", po::value<std::string>(), "decide for a catalog GPU instead of probing (runs on the CPU)")
      ("env", po::value<std::vector<std::string>>(), "NAME=VALUE added to the environment (repeatable)")
      ("clean-env", "start from an empty environment: only --env variables are set")
      ("log", "print the runtime's JSON startup line too (one per GPU)")
      ("serve", po::value<int>(), "PORT: serve the effective configuration at http://127.0.0.1:PORT/v1/effective-config "
                                  "while the run goes on and after it, until SIGINT or SIGTERM (0: a free port, printed)")
      ("serve-for", po::value<double>(), "SECONDS: with --serve, stop serving this long after the run instead");
  auto vm = ParseCommandLine(args, options, nullptr);
  if (!vm.ok()) return Usage(io, "run", vm.error().message);
  if (vm->count("help")) {
    io.out << options << "Starts the runtime as a server would (policy resolution, probe of every GPU,\n"
                         "dispatch, parity gate per GPU) and runs a stack of decoder layers' GEMVs with\n"
                         "GPU 0's dispatched kernels.\n";
    return kExitOk;
  }
  auto serving = ServeRequest(*vm);
  if (!serving.ok()) return Usage(io, "run", serving.error().message);
  for (const char* count : {"layers", "tokens"}) {
    if (vm->count(count) && (*vm)[count].as<int>() < 1) {
      return Usage(io, "run", std::string("--") + count + " is 1 or more, not " + std::to_string((*vm)[count].as<int>()));
    }
  }
  if (vm->count("prefill") && (*vm)["prefill"].as<int>() < 0) {
    return Usage(io, "run", "--prefill is 0 or more, not " + std::to_string((*vm)["prefill"].as<int>()));
  }
  auto env = BuildEnvironment(*vm, io);
  if (!env.ok()) return Usage(io, "run", env.error());
  runtime::StartOptions start;
  if (vm->count("policy")) {
    // An empty path would read as "no policy given" and start the built-in
    // default: a guess the operator did not ask for.
    start.policy_path = (*vm)["policy"].as<std::string>();
    if (start.policy_path.empty()) return Usage(io, "run", "--policy names a policy file; '' names none");
  }
  if (vm->count("contracts")) start.contracts_path = (*vm)["contracts"].as<std::string>();
  start.environment = *env;
  start.probe = io.local_devices;
  if (vm->count("device")) {
    auto device = SelectDevices({(*vm)["device"].as<std::string>(), std::nullopt, std::nullopt, std::nullopt},
                                io.local_devices);
    if (!device.ok()) return Usage(io, "run", device.error().message);
    start.device = device->front();
  }
  auto rt = runtime::Runtime::Start(start);
  if (!rt.ok()) {
    io.err << "policyctl run: startup failed: " << rt.error().ToString() << "\n";
    return kExitNo;
  }
  const runtime::Runtime& r = **rt;
  const runtime::DispatchTable& t = r.dispatch();  // the demo runs on GPU 0
  io.out << "policy   " << r.policy().name << " " << r.policy().version << "  (" << r.source().Describe() << ")\n";
  io.out << "records  " << r.evidence_source().Describe() << "\n";
  for (const runtime::DeviceRuntime& gpu : r.devices()) {
    const DeviceFacts& device = gpu.decision.device;
    const runtime::DispatchTable& d = gpu.dispatch;
    const std::string ordinal = r.devices().size() > 1 ? "GPU " + std::to_string(gpu.ordinal) + ": " : "";
    io.out << "device   " << ordinal << device.name << ": cc " << device.cc_major << "." << device.cc_minor << ", "
           << device.num_sms << " SMs  (" << device.source << ")\n";
    for (const std::string& f : device.fallbacks) io.out << "         ! " << f << "\n";
    io.out << "kernels  " << (d.gpu ? "GPU" : "CPU (" + gpu.cpu_only_reason + "): each variant's arithmetic on the CPU")
           << "\n         q4k " << d.q4k << ", q6k " << d.q6k << ", mwv_warps " << d.mwv_warps << ", fused_gate_up "
           << (d.fused_gate_up ? "on" : "off") << "\n";
    for (const std::string& w : gpu.decision.warnings) io.out << "warning  " << w << "\n";
    for (const runtime::GateResult& g : gpu.gate) io.out << "gate     " << g.ToString() << "\n";
    if (vm->count("log")) io.out << "log      " << gpu.log_line << "\n";
  }
  std::unique_ptr<EffectiveConfigServer> server;
  if (serving->port) {
    auto started = EffectiveConfigServer::Start(static_cast<uint16_t>(*serving->port), r.EffectiveConfigJson(2));
    if (!started.ok()) {
      io.err << "policyctl run: --serve: " << started.error().ToString() << "\n";
      return kExitNo;
    }
    server = std::move(started).value();
    io.out << "serving  " << server->url() << "\n" << std::flush;
  }

  const int layers = vm->count("layers") ? (*vm)["layers"].as<int>() : (t.gpu ? 8 : 1);
  const int tokens = vm->count("tokens") ? (*vm)["tokens"].as<int>() : (t.gpu ? 64 : 2);
  const std::string model = (*vm)["model"].as<std::string>();
  const int prefill = vm->count("prefill") ? (*vm)["prefill"].as<int>() : (t.gpu ? 512 : 0);
  auto result = demo::RunDecoderLayers(t, model, layers, tokens, t.gpu ? prefill : 0);
  if (!result.ok()) {
    io.err << "policyctl run: " << result.error().ToString() << "\n";
    return kExitNo;
  }
  char line[256];
  std::snprintf(line, sizeof line, "run      %s, %d layers x %d tokens (M = 1) on the %s: %.1f tokens/s of the stack, "
                "%.1f GB/s of weights\n", model.c_str(), layers, tokens, result->gpu ? "GPU" : "CPU",
                result->tokens_per_second, result->weight_gbps);
  io.out << line;
  io.out << "         decode: " << result->decode_path << "\n";
  if (result->prefill_tokens > 0) {
    std::snprintf(line, sizeof line, "prefill  %d tokens through %d layers: %.1f ms, %.1f TFLOP/s (%s; batched_prefill %s, "
                  "fp8_prefill %s)\n", result->prefill_tokens, layers, result->prefill_seconds * 1e3,
                  result->prefill_tflops, result->prefill_path.c_str(), t.batched_prefill ? "on" : "off",
                  t.fp8_prefill ? "on" : "off");
    io.out << line;
  } else if (!t.gpu) {
    io.out << "prefill  not run on the CPU path\n";
  }
  bool parity_ok = true;
  for (const demo::MatrixParity& p : result->parity) {
    const bool ok = (!p.error_vs_cpu || *p.error_vs_cpu <= runtime::kGateMaxErrorVsCpu) &&
                    p.cosine_vs_reference >= runtime::kGateMinCosineVsReference;
    parity_ok &= ok;
    char error[32] = "-";  // the CPU path: the candidate is the CPU run
    if (p.error_vs_cpu) std::snprintf(error, sizeof error, "%.2g", *p.error_vs_cpu);
    std::snprintf(line, sizeof line, "parity   %-12s %-30s cosine vs fp64 %.6f  error vs CPU %s  %s\n",
                  p.name.c_str(), p.path.c_str(), p.cosine_vs_reference, error, ok ? "ok" : "FAILED");
    io.out << line;
  }
  const int status = parity_ok ? kExitOk : kExitNo;
  if (server) ServeUntilStopped(*server, *serving, io);
  return status;
}

// ---- devices ----------------------------------------------------------------

int Devices(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl devices [--format text|json]");
  options.add_options()("help,h", "show this help")(
      "format", po::value<std::string>()->default_value("text"), "text or json");
  auto vm = ParseCommandLine(args, options, nullptr);
  if (!vm.ok()) return Usage(io, "devices", vm.error().message);
  if (vm->count("help")) {
    io.out << options;
    return kExitOk;
  }
  const std::string format = (*vm)["format"].as<std::string>();
  if (format == "json") {
    JsonWriter w;
    w.BeginArray();
    for (const CatalogEntry& e : DeviceCatalog()) {
      w.BeginObject().Key("key").String(e.key).Key("name").String(e.name);
      w.Key("architecture").String(e.architecture);
      w.Key("cc").String(std::to_string(e.cc_major) + "." + std::to_string(e.cc_minor));
      w.Key("num_sms").Int(e.num_sms).Key("memory_mib").Int(e.memory_mib);
      w.Key("bandwidth_gbps").Int(e.bandwidth_gbps).EndObject();
    }
    w.EndArray();
    io.out << w.text() << "\n";
    return kExitOk;
  }
  if (format != "text") return Usage(io, "devices", "--format is text or json, not '" + format + "'");
  io.out << std::left << std::setw(13) << "KEY" << std::setw(24) << "NAME" << std::setw(11) << "ARCH"
         << std::right << std::setw(5) << "CC" << std::setw(6) << "SMS" << std::setw(9) << "MEMORY"
         << std::setw(10) << "GB/s" << "\n";
  for (const CatalogEntry& e : DeviceCatalog()) {
    io.out << std::left << std::setw(13) << e.key << std::setw(24) << e.name << std::setw(11)
           << e.architecture << std::right << std::setw(5)
           << (std::to_string(e.cc_major) + "." + std::to_string(e.cc_minor)) << std::setw(6)
           << e.num_sms << std::setw(6) << e.memory_mib / 1024 << " GiB" << std::setw(10)
           << e.bandwidth_gbps << "\n";
  }
  return kExitOk;
}

}  // namespace

Expected<Environment, std::string> BuildEnvironment(const po::variables_map& vm, const Io& io) {
  Environment env = vm.count("clean-env") ? Environment() : io.process_env;
  if (vm.count("env")) {
    const auto& flags = vm["env"].as<std::vector<std::string>>();
    if (flags.size() > limits::kEnvironmentEntries) {
      return Fail("--env is given " + std::to_string(flags.size()) + " times; the limit is " +
                  std::to_string(limits::kEnvironmentEntries));
    }
    for (const std::string& kv : flags) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return Fail("--env takes NAME=VALUE, not '" + kv + "'");
      env.Set(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return env;
}

namespace {

int Dispatch(const std::vector<std::string>& args, Io& io) {
  if (args.empty()) {
    io.err << kUsage;
    return kExitUsage;
  }
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "validate") return Validate(rest, io);
  if (command == "eval") return EvalOrExplain(rest, io, false);
  if (command == "explain") return EvalOrExplain(rest, io, true);
  if (command == "devices") return Devices(rest, io);
  if (command == "check") return Check(rest, io);
  if (command == "record") return RunRecord(rest, io);
  if (command == "run") return Run(rest, io);
  if (command == "fleet") return RunFleet(rest, io);
  if (command == "diff") return RunDiff(rest, io);
  if (command == "lint") return RunLint(rest, io);
  if (command == "test") return RunTest(rest, io);
  if (command == "help" || command == "--help" || command == "-h") {
    io.out << kUsage;
    return kExitOk;
  }
  io.err << "policyctl: error: unknown command '" << command << "'"
         << DidYouMean(command, {"validate", "eval", "explain", "devices", "check", "record", "run", "fleet", "diff", "lint", "test"}) << "\n" << kUsage;
  return kExitUsage;
}

}  // namespace

int RunPolicyctl(const std::vector<std::string>& args, Io& io) {
  std::ostream out(nullptr), err(nullptr);
  Io printable{out, err, io.out_is_terminal, io.process_env, io.local_devices};
  const bool no_styles = false;
  PrintableStreambuf out_filter(io.out.rdbuf(), &printable.out_styled);
  PrintableStreambuf err_filter(io.err.rdbuf(), &no_styles);
  out.rdbuf(&out_filter);
  err.rdbuf(&err_filter);
  const int status = Dispatch(args, printable);
  out.flush();
  err.flush();
  return status;
}

}  // namespace kpolicy::tools
