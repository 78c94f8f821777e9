#include "lint_command.h"

#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "exit_codes.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_lint.h"

namespace kpolicy::tools {
namespace po = boost::program_options;
namespace {

constexpr const char* kLintHelp =
    "Evaluates each policy with the engine over every compute capability 1.0-15.9, the\n"
    "catalog's devices, the recorded devices, and each environment state the rules read\n"
    "(policies/README.md, 'Lint', says exactly what is enumerated), and warns, as\n"
    "FILE:LINE:COL: warning: MESSAGE [KIND], of rules that can never fire or that earlier\n"
    "rules shadow, overrides that can never be taken, facts nothing reads, knob values no\n"
    "record covers on any catalog device, and fallbacks that break the contract of the value\n"
    "they replace. Exit 0; 1 with --strict and a warning, or an invalid policy; 2 usage or\n"
    "unreadable input.\n";

int LintUsage(Io& io, const std::string& message) {
  io.err << "policyctl lint: error: " << message << "\nTry 'policyctl lint --help'.\n";
  return kExitUsage;
}

}  // namespace

int RunLint(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl lint FILE... [OPTIONS]");
  options.add_options()
      ("help,h", "show this help")
      ("file", po::value<std::vector<std::string>>(), "policy files (or builtin:default, builtin:seed)")
      ("strict", "exit 1 when there is a warning")
      ("format", po::value<std::string>()->default_value("text"), "text or json")
      ("contracts", po::value<std::string>(),
       "folder of contract files (default: ./contracts if present; without one the value and fallback checks are skipped)")
      ("records", po::value<std::string>(), "folder of parity records (default: CONTRACTS/parity)")
      ("stats", "print to stderr how many evaluations each policy took, and how long");
  po::positional_options_description positional;
  positional.add("file", -1);
  auto vm = ParseCommandLine(args, options, &positional);
  if (!vm.ok()) return LintUsage(io, vm.error().message);
  if (vm->count("help")) {
    io.out << options << kLintHelp;
    return kExitOk;
  }
  const std::string format = (*vm)["format"].as<std::string>();
  if (format != "text" && format != "json") return LintUsage(io, "--format is text or json, not '" + format + "'");
  if (!vm->count("file")) return LintUsage(io, "name at least one policy file");
  if (vm->count("records") && !vm->count("contracts")) return LintUsage(io, "--records needs --contracts");

  std::optional<ContractSet> evidence;
  std::error_code ec;
  if (vm->count("contracts") || std::filesystem::is_directory("contracts", ec)) {
    const std::string directory = vm->count("contracts") ? (*vm)["contracts"].as<std::string>() : "contracts";
    const std::string records = vm->count("records") ? (*vm)["records"].as<std::string>() : directory + "/parity";
    auto set = LoadContractSet(directory, records, io);
    if (!set.ok()) return set.error();
    evidence = std::move(set).value();
  } else {
    io.err << "policyctl lint: no ./contracts folder and no --contracts: values and fallbacks are not checked "
              "against records, and rules asking for evidence are judged on their condition alone\n";
  }
  LintOptions lint_options;
  if (evidence) {
    lint_options.contracts = &evidence->contracts;
    lint_options.records = &evidence->records;
  }

  int status = kExitOk;
  std::vector<LintFinding> all;
  for (const std::string& file : (*vm)["file"].as<std::vector<std::string>>()) {
    auto policy = LoadNamedPolicy(file);
    if (!policy.ok()) {
      io.err << policy.error().ToString() << "\n";
      status = std::max(status, policy.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    LintReport report = LintPolicy(*policy, lint_options);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (vm->count("stats")) {
      char line[200];
      std::snprintf(line, sizeof line,
                    "policyctl lint: %s: %zu evaluations in %.1f ms (%.2f us each); largest analysis %zu points\n",
                    file.c_str(), report.evaluations, ms, report.evaluations ? ms * 1e3 / report.evaluations : 0.0,
                    report.largest_analysis);
      io.err << line;
    }
    if (format == "text") {
      for (const LintFinding& f : report.findings) {
        io.out << f.location.ToString() << ": warning: " << f.message << " [" << LintKindName(f.kind) << "]\n";
      }
      io.out << file << ": " << report.findings.size() << " warning" << (report.findings.size() == 1 ? "" : "s")
             << "\n";
    }
    all.insert(all.end(), report.findings.begin(), report.findings.end());
  }
  if (format == "json") {
    JsonWriter w;
    w.BeginArray();
    for (const LintFinding& f : all) {
      w.BeginObject().Key("file").String(f.location.file).Key("line").Int(f.location.line);
      w.Key("col").Int(f.location.column).Key("kind").String(LintKindName(f.kind));
      w.Key("message").String(f.message).EndObject();
    }
    w.EndArray();
    io.out << w.text() << "\n";
  }
  if (!all.empty() && vm->count("strict")) {
    io.err << "policyctl lint: --strict: " << all.size() << " warning" << (all.size() == 1 ? "" : "s") << "\n";
    status = std::max(status, kExitNo);
  }
  return status;
}

}  // namespace kpolicy::tools
