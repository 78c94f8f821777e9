#include "test_command.h"

#include <boost/program_options.hpp>

#include <map>
#include <memory>
#include <optional>

#include "exit_codes.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_cases.h"

namespace kpolicy::tools {
namespace po = boost::program_options;
namespace {

constexpr const char* kTestHelp =
    "Runs each file's cases (policies/README.md, 'Tests', gives the format): each case's\n"
    "device or facts and environment are evaluated with the policy, and its expected knob\n"
    "values and rules compared. Failing cases are named with FILE:LINE:COL and what differed;\n"
    "then the policy's rules, overrides and defaults that no case exercised. The policy is\n"
    "--policy, else the file's 'policy:', else the built-in default; records for rules asking\n"
    "for evidence are --contracts, else the file's 'contracts:', else none. Exit 0 all pass,\n"
    "1 a case fails, 2 usage or bad input.\n";

int TestUsage(Io& io, const std::string& message) {
  io.err << "policyctl test: error: " << message << "\nTry 'policyctl test --help'.\n";
  return kExitUsage;
}

// A policy the cases run against, with the coverage its cases gather.
struct PolicyUnderTest {
  Policy policy;
  std::unique_ptr<Coverage> coverage;
};

// Records for evidence rules, with the oracle that reads them.
struct Records {
  ContractSet set;
  std::unique_ptr<RecordEvidence> oracle;
};

struct FileRun {
  CaseFile cases;
  PolicyUnderTest* policy = nullptr;
  const Records* records = nullptr;
};

void WriteLocation(JsonWriter& w, const SourceLocation& where) {
  w.Key("file").String(where.file).Key("line").Int(where.line).Key("col").Int(where.column);
}

}  // namespace

int RunTest(const std::vector<std::string>& args, Io& io) {
  po::options_description options("policyctl test FILE... [OPTIONS]");
  options.add_options()
      ("help,h", "show this help")
      ("file", po::value<std::vector<std::string>>(), "test files")
      ("policy", po::value<std::string>(), "the policy to test (default: each file's 'policy:', else the built-in default)")
      ("contracts", po::value<std::string>(), "contracts folder whose records evidence rules read (default: the file's 'contracts:')")
      ("records", po::value<std::string>(), "folder of parity records (default: CONTRACTS/parity)")
      ("format", po::value<std::string>()->default_value("text"), "text or json");
  po::positional_options_description positional;
  positional.add("file", -1);
  auto vm = ParseCommandLine(args, options, &positional);
  if (!vm.ok()) return TestUsage(io, vm.error().message);
  if (vm->count("help")) {
    io.out << options << kTestHelp;
    return kExitOk;
  }
  const std::string format = (*vm)["format"].as<std::string>();
  if (format != "text" && format != "json") return TestUsage(io, "--format is text or json, not '" + format + "'");
  if (!vm->count("file")) return TestUsage(io, "name at least one test file");
  if (vm->count("records") && !vm->count("contracts")) return TestUsage(io, "--records needs --contracts");

  // Everything is read and checked before any case runs: bad input runs nothing.
  std::vector<FileRun> runs;
  int status = kExitOk;
  for (const std::string& file : (*vm)["file"].as<std::vector<std::string>>()) {
    auto loaded = LoadCaseFile(file);
    if (!loaded.ok()) {
      io.err << loaded.error().ToString();
      status = kExitUsage;
      continue;
    }
    runs.push_back({std::move(loaded).value()});
  }
  if (status != kExitOk) return status;

  std::map<std::string, PolicyUnderTest> policies;  // by name; stable addresses
  std::map<std::string, Records> records;
  for (FileRun& run : runs) {
    const std::string name = vm->count("policy") ? (*vm)["policy"].as<std::string>()
                             : !run.cases.policy.empty() ? run.cases.policy
                                                         : std::string(kBuiltinDefaultPolicyName);
    auto it = policies.find(name);
    if (it == policies.end()) {
      auto policy = LoadNamedPolicy(name);
      if (!policy.ok()) {
        io.err << policy.error().ToString() << "\n";
        return policy.error().code == ErrorCode::kUnreadable ? kExitUsage : kExitNo;
      }
      it = policies.emplace(name, PolicyUnderTest{std::move(policy).value(), nullptr}).first;
      it->second.coverage = std::make_unique<Coverage>(it->second.policy);
    }
    run.policy = &it->second;
    const Diagnostics problems = CheckCases(run.cases, run.policy->policy);
    if (problems.has_errors()) {
      io.err << problems.ToString();
      status = kExitUsage;
    }
    const std::string contracts = vm->count("contracts") ? (*vm)["contracts"].as<std::string>() : run.cases.contracts;
    if (contracts.empty()) continue;
    auto r = records.find(contracts);
    if (r == records.end()) {
      const std::string dir = vm->count("records") ? (*vm)["records"].as<std::string>() : contracts + "/parity";
      auto set = LoadContractSet(contracts, dir, io);
      if (!set.ok()) return set.error() == kExitNo ? kExitUsage : set.error();
      r = records.emplace(contracts, Records{std::move(set).value(), nullptr}).first;
      r->second.oracle = std::make_unique<RecordEvidence>(r->second.set.contracts, r->second.set.records);
    }
    run.records = &r->second;
  }
  if (status != kExitOk) return status;

  int passed = 0, failed = 0;
  EvaluationBudget budget;  // every case of every file together
  JsonWriter w;
  w.BeginObject().Key("files").BeginArray();
  for (const FileRun& run : runs) {
    const Policy& policy = run.policy->policy;
    const std::string title = policy.name + " " + policy.version + " (" + policy.file + ")";
    if (format == "text") io.out << run.cases.file << ": " << run.cases.cases.size() << " cases against " << title << "\n";
    w.BeginObject().Key("file").String(run.cases.file).Key("policy").String(policy.file).Key("cases").BeginArray();
    for (const PolicyCase& c : run.cases.cases) {
      std::optional<Decision> decision;
      const CaseResult result =
          RunCase(policy, c, run.records ? run.records->oracle.get() : nullptr, &decision, &budget);
      if (budget.spent()) {
        io.err << c.location.ToString() << ": error: case '" << c.name << "' not run: " << result.error << "\n";
        return kExitUsage;
      }
      if (decision) run.policy->coverage->Add(*decision);
      (result.passed ? passed : failed) += 1;
      w.BeginObject().Key("name").String(c.name);
      WriteLocation(w, c.location);
      w.Key("passed").Bool(result.passed);
      if (!result.error.empty()) w.Key("error").String(result.error);
      w.Key("mismatches").BeginArray();
      for (const CaseMismatch& m : result.mismatches) {
        w.BeginObject().Key("knob").String(m.knob);
        WriteLocation(w, m.location);
        if (!m.got.empty()) w.Key("expected").String(m.expected).Key("got").String(m.got);
        if (!m.got_rule.empty()) w.Key("expected_rule").String(m.expected_rule).Key("got_rule").String(m.got_rule);
        w.EndObject();
      }
      w.EndArray().EndObject();
      if (format != "text") continue;
      if (result.passed) {
        io.out << "  ok    " << c.name << "\n";
        continue;
      }
      io.out << "  FAIL  " << c.location.ToString() << ": " << c.name << "\n";
      if (!result.error.empty()) io.out << "        evaluation failed: " << result.error << "\n";
      for (const CaseMismatch& m : result.mismatches) {
        if (!m.got.empty()) {
          io.out << "        " << m.location.ToString() << ": " << m.knob << ": expected " << m.expected << ", got "
                 << m.got << "\n";
        }
        if (!m.got_rule.empty()) {
          io.out << "        " << m.location.ToString() << ": " << m.knob << " decided by: expected " << m.expected_rule
                 << ", got " << m.got_rule << "\n";
        }
      }
    }
    w.EndArray().EndObject();
  }
  w.EndArray().Key("passed").Int(passed).Key("failed").Int(failed);
  if (format == "text") {
    io.out << "test: " << passed + failed << " cases, " << passed << " passed, " << failed << " failed\n";
  }
  w.Key("coverage").BeginArray();
  for (const auto& [name, tested] : policies) {
    const Coverage& cov = *tested.coverage;
    auto count = [&](const char* key, Coverage::Count c) {
      w.Key(key).BeginObject().Key("exercised").Int(c.exercised).Key("total").Int(c.total).EndObject();
    };
    w.BeginObject().Key("policy").String(tested.policy.file);
    count("rules", cov.rules());
    count("overrides", cov.overrides());
    count("defaults", cov.defaults());
    w.Key("not_exercised").BeginArray();
    for (const Coverage::Item& item : cov.items()) {
      if (item.exercised) continue;
      w.BeginObject();
      WriteLocation(w, item.location);
      w.Key("knob").String(item.knob).Key("what").String(item.what).EndObject();
    }
    w.EndArray().EndObject();
    if (format != "text") continue;
    const auto r = cov.rules(), o = cov.overrides(), d = cov.defaults();
    io.out << "coverage of " << tested.policy.file << ": rules " << r.exercised << "/" << r.total << ", overrides "
           << o.exercised << "/" << o.total << ", defaults " << d.exercised << "/" << d.total << "\n";
    for (const Coverage::Item& item : cov.items()) {
      if (!item.exercised) {
        io.out << "  " << item.location.ToString() << ": not exercised: " << item.what << " of knob '" << item.knob
               << "'\n";
      }
    }
  }
  w.EndArray().EndObject();
  if (format == "json") io.out << w.text() << "\n";
  return failed > 0 ? kExitNo : kExitOk;
}

}  // namespace kpolicy::tools
