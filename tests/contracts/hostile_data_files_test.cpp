// Hostile parity records, contract files and record folders (issue 15,
// findings 6 and 9): each is refused with an error at its file, line and
// column that says what is wrong, or, for what `check` can only judge
// against a policy, reported by `check`. Evidence never matches nothing in
// silence. The kinds are listed in tests/hostile/DATA_FILES.md.
#define BOOST_TEST_MODULE hostile_data_files
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/parity_vocabulary.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

const std::string kContracts = std::string(KPOLICY_SOURCE_DIR) + "/contracts";

// A valid record; the cases below change one piece of it. Line 2 holds the
// device, line 3 the provenance, lines 5-9 the one measurement.
std::string Record(const std::string& device = R"({name: X, cc: "9.0", num_sms: 132})",
                   const std::string& metrics = "{cosine: 0.999, nan_count: 0}",
                   const std::string& operation = "q4k_gemv", const std::string& workload = "plain",
                   const std::string& date = R"("2026-01-01")", const std::string& speed = "{us: 12.5}") {
  return "kpolicy_record: 1\n"
         "device: " + device + "\n"
         "provenance: {kind: reported, date: " + date + ", source: a test}\n"
         "results:\n"
         "  - operation: " + operation + "\n"
         "    variant: Mwv\n"
         "    workload: " + workload + "\n"
         "    metrics: " + metrics + "\n"
         "    speed: " + speed + "\n";
}

// Parses `text` and expects exactly one error, at `where` ("LINE:COL"),
// whose message contains `needle`.
void ExpectRecordError(const std::string& text, const std::string& where, const std::string& needle) {
  auto r = ParseParityRecord(text, "r.yaml");
  BOOST_REQUIRE_MESSAGE(!r.ok(), "accepted:\n" << text);
  const std::string all = r.error().ToString();
  BOOST_TEST(r.error().error_count() == 1, all);
  BOOST_TEST(all.find("r.yaml:" + where + ": error: ") == 0, all);
  BOOST_TEST(all.find(needle) != std::string::npos, all << "\n  lacks: " << needle);
}

BOOST_AUTO_TEST_CASE(the_base_record_is_valid) {
  auto r = ParseParityRecord(Record(), "r.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().ToString()));
  BOOST_TEST(r->device.num_sms == 132);
  BOOST_TEST(r->results.at(0).metrics.at("cosine") == 0.999);
  BOOST_TEST(r->results.at(0).speed.at("us") == 12.5);
}

// Finding 6: device counts. A count was cast to int before any check:
// 1e300 was undefined behaviour, 4294967297 became 1 (evidence for a
// 1-SM GPU), and 0 or a negative count passed.
BOOST_AUTO_TEST_CASE(device_counts_out_of_range_are_refused_before_conversion) {
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 1e300})"), "2:39", "'num_sms' is 1e300; it must be a number in [0, 1024]");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 4294967297})"), "2:39",
                    "'num_sms' is 4294967297; it must be a number in [0, 1024]");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: -1})"), "2:39", "'num_sms' is -1; it must be a number in [0, 1024]");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 12.5})"), "2:39", "'num_sms' must be a whole number, not 12.5");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 132, memory_mib: 1e300})"), "2:56",
                    "'memory_mib' is 1e300; it must be a number in [1, 16777216]");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 132, bandwidth_gbps: -5})"), "2:60",
                    "'bandwidth_gbps' is -5; it must be a number in [1, 1000000]");
}

// Finding 6: numbers as YAML writes them, unquoted and decimal.
BOOST_AUTO_TEST_CASE(quoted_hex_and_octal_numbers_are_refused) {
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: "132"})"), "2:39",
                    "'num_sms' must be a number, not the quoted text '132' (write it without quotes)");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 0x84})"), "2:39",
                    "'num_sms' must be a decimal number, not '0x84'");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 132})", "{cosine: '0.99'}"), "8:23",
                    "'cosine' must be a number, not the quoted text '0.99'");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 132})", "{nan_count: 0o17}"), "8:26",
                    "'nan_count' must be a decimal number, not '0o17'");
  ExpectRecordError(Record(R"({name: X, cc: "9.0", num_sms: 132})", "{cosine: inf}"), "8:23",
                    "'cosine' must be a decimal number, not 'inf'");
}

// Finding 6: each metric within its domain (parity_vocabulary.h); NaN and
// +inf only where a broken kernel's output makes them.
BOOST_AUTO_TEST_CASE(metrics_outside_their_domain_are_refused) {
  const std::string device = R"({name: X, cc: "9.0", num_sms: 132})";
  ExpectRecordError(Record(device, "{cosine: 7}"), "8:23", "'cosine' is 7; it must be a number in [-1, 1]");
  ExpectRecordError(Record(device, "{cosine: .inf}"), "8:23", "'cosine' cannot be .inf: it is a number in [-1, 1]");
  ExpectRecordError(Record(device, "{nan_count: -3.5}"), "8:26", "'nan_count' is -3.5; it must be a number in [0, 9007199254740992]");
  ExpectRecordError(Record(device, "{nan_count: 3.5}"), "8:26", "'nan_count' must be a whole number, not 3.5");
  ExpectRecordError(Record(device, "{nan_count: .nan}"), "8:26", "'nan_count' cannot be .nan");
  ExpectRecordError(Record(device, "{argmax_agreement: 1.5}"), "8:33", "'argmax_agreement' is 1.5; it must be a number in [0, 1]");
  ExpectRecordError(Record(device, "{relative_l2_error: -0.1}"), "8:34", "'relative_l2_error' is -0.1; it must be a number in [0, .inf]");
  ExpectRecordError(Record(device, "{first_divergence: -2}"), "8:33", "'first_divergence' is -2; it must be a number in [-1, ");
  ExpectRecordError(Record(device, "{cosine: 0.99}", "q4k_gemv", "plain", R"("2026-01-01")", "{us: -1}"), "9:17",
                    "'us' is -1; it must be a number of 0 or more");
  // What a broken kernel measures stays readable, so check can name it.
  auto broken = ParseParityRecord(Record(device, "{cosine: .nan, relative_l2_error: .inf, nan_count: 128}"), "r.yaml");
  BOOST_REQUIRE_MESSAGE(broken.ok(), (broken.ok() ? std::string() : broken.error().ToString()));
  BOOST_TEST(std::isnan(broken->results[0].metrics.at("cosine")));
}

// Finding 9: a measurement of an operation or workload no contract can
// name is refused, with the name it was probably meant to be.
BOOST_AUTO_TEST_CASE(unknown_operations_and_workloads_are_refused) {
  const std::string device = R"({name: X, cc: "9.0", num_sms: 132})", metrics = "{cosine: 0.999}";
  ExpectRecordError(Record(device, metrics, "q4k_gemvv"), "5:16",
                    "unknown operation 'q4k_gemvv' (did you mean 'q4k_gemv'?); records measure q4k_gemv, q6k_gemv");
  ExpectRecordError(Record(device, metrics, "q4k_gemv", "plian"), "7:15",
                    "unknown workload 'plian' (did you mean 'plain'?)");
}

BOOST_AUTO_TEST_CASE(a_date_that_is_not_one_is_refused) {
  const std::string device = R"({name: X, cc: "9.0", num_sms: 132})", metrics = "{cosine: 0.999}";
  ExpectRecordError(Record(device, metrics, "q4k_gemv", "plain", "2026-13-01"), "3:36",
                    "provenance date '2026-13-01' is not a date YYYY-MM-DD");
  ExpectRecordError(Record(device, metrics, "q4k_gemv", "plain", "yesterday"), "3:36", "is not a date YYYY-MM-DD");
}

// ---- Contracts -------------------------------------------------------------

// A valid contract file; the cases change one piece. Line 3 holds the id,
// 4 the knob, 5 the operation, 6 the workloads, 7 the thresholds.
std::string ContractFile(const std::string& knob = "q4k", const std::string& operation = "q4k_gemv",
                         const std::string& workloads = "[plain, massive]",
                         const std::string& thresholds = "{cosine: {min: 0.99}}", const std::string& extra = "") {
  return "kpolicy_contracts: 1\n"
         "contracts:\n"
         "  - id: C-1\n"
         "    knob: " + knob + "\n"
         "    operation: " + operation + "\n"
         "    workloads: " + workloads + "\n"
         "    thresholds: " + thresholds + "\n" + extra;
}

void ExpectContractError(const std::string& text, const std::string& where, const std::string& needle) {
  auto c = ParseContracts(text, "c.yaml");
  BOOST_REQUIRE_MESSAGE(!c.ok(), "accepted:\n" << text);
  const std::string all = c.error().ToString();
  BOOST_TEST(c.error().error_count() == 1, all);
  BOOST_TEST(all.find("c.yaml:" + where + ": error: ") == 0, all);
  BOOST_TEST(all.find(needle) != std::string::npos, all << "\n  lacks: " << needle);
}

BOOST_AUTO_TEST_CASE(the_base_contract_is_valid) {
  auto c = ParseContracts(ContractFile(), "c.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().ToString()));
  BOOST_TEST(c->at(0).workloads.size() == 2u);
}

// Finding 9: a typo in operation: or workloads: left the contract with no
// measurement to count (a typo in operation: hid the GB10 violation).
BOOST_AUTO_TEST_CASE(contract_names_must_be_ones_records_measure) {
  ExpectContractError(ContractFile("q4k", "q4k_gemmv"), "5:16",
                      "unknown operation 'q4k_gemmv' in contract C-1 (did you mean 'q4k_gemv'?)");
  ExpectContractError(ContractFile("q4k", "q6k_gemv"), "5:16",
                      "operation q6k_gemv measures the values of knob 'q6k', but contract C-1 constrains 'q4k'");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain, masive]"), "6:24",
                      "unknown workload 'masive' in contract C-1 (did you mean 'massive'?)");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "model-parity-gat"), "6:16",
                      "unknown workload 'model-parity-gat' in contract C-1 (did you mean 'model-parity-gate'?)");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain]", "{cosine: {min: 0.99}}", "    variants: []\n"), "8:15",
                      "contract C-1: 'variants' lists none");
}

// A bound outside its metric's domain can never hold (or always does).
BOOST_AUTO_TEST_CASE(thresholds_outside_the_metric_domain_are_refused) {
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain]", "{cosine: {min: 7}}"), "7:32",
                      "'cosine' is 7; it must be a number in [-1, 1]");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain]", "{nan_count: {max: -1}}"), "7:35",
                      "'nan_count' is -1; it must be a number in [0, ");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain]", "{cosine: {min: .nan}}"), "7:32",
                      "'cosine' cannot be .nan");
  ExpectContractError(ContractFile("q4k", "q4k_gemv", "[plain]", "{cosine: {min: '0.99'}}"), "7:32",
                      "'cosine' must be a number, not the quoted text '0.99'");
}

// ---- check: names judged against the policy ------------------------------------

Policy DefaultPolicy() {
  auto p = LoadPolicyText(BuiltinDefaultPolicyText(), std::string(kBuiltinDefaultPolicyName));
  BOOST_REQUIRE(p.ok());
  return std::move(p).value();
}

const std::vector<Contract>& ShippedContracts() {
  static const std::vector<Contract> c = std::move(LoadContractDirectory(kContracts)).value();
  return c;
}

// Finding 9: a recorded variant the knob cannot take (HwDp4aa) was evidence
// that never counted; now check stops on it, at its line and column.
BOOST_AUTO_TEST_CASE(a_recorded_variant_the_knob_cannot_take_is_an_error_in_check) {
  std::string text = Record();
  text.replace(text.find("variant: Mwv"), 12, "variant: Mvw");
  auto record = ParseParityRecord(text, "r.yaml");
  BOOST_REQUIRE(record.ok());
  const CheckReport report = CheckContracts(DefaultPolicy(), ShippedContracts(), {*record});
  BOOST_REQUIRE_EQUAL(report.errors.size(), 1u);
  BOOST_TEST(report.errors[0].find("r.yaml:6:14: error: recorded q4k_gemv variant 'Mvw' is not a value of knob 'q4k'") == 0,
             report.errors[0]);
  BOOST_TEST(report.errors[0].find("(did you mean 'Mwv'?)") != std::string::npos, report.errors[0]);
  BOOST_TEST(!report.passed());
  BOOST_TEST(report.findings.empty());
}

BOOST_AUTO_TEST_CASE(a_contract_variant_the_knob_cannot_take_is_an_error_in_check) {
  auto contracts = ParseContracts(ContractFile("fp8_prefill", "prefill_gemm", "[plain]", "{cosine: {min: 0.99}}",
                                               "    variants: [ture]\n"),
                                  "c.yaml");
  BOOST_REQUIRE(contracts.ok());
  const CheckReport report = CheckContracts(DefaultPolicy(), *contracts, {});
  BOOST_REQUIRE_EQUAL(report.errors.size(), 1u);
  BOOST_TEST(report.errors[0].find("c.yaml:8:15: error: contract C-1 lists variant 'ture' is not a value of knob 'fp8_prefill' (bool)") == 0,
             report.errors[0]);
}

// An alias (a knob whose values map onto the contract knob's, as the seed's
// batched_prefill onto prefill_path) is held to both knobs' values.
BOOST_AUTO_TEST_CASE(an_alias_mapping_values_no_knob_has_is_an_error_in_check) {
  const std::string text =
      ContractFile("prefill_path", "prefill", "[prefill-then-decode]", "{corrupted: {max: 0}}",
                   "    aliases:\n      - {knob: batched_prefill, values: {\"yes\": batched, \"false\": seriall}}\n");
  auto contracts = ParseContracts(text, "c.yaml");
  BOOST_REQUIRE_MESSAGE(contracts.ok(), (contracts.ok() ? std::string() : contracts.error().ToString()));
  auto seed = LoadPolicyText(BuiltinSeedPolicyText(), std::string(kBuiltinSeedPolicyName));
  BOOST_REQUIRE(seed.ok());
  const CheckReport with_alias = CheckContracts(*seed, *contracts, {});
  BOOST_REQUIRE_EQUAL(with_alias.errors.size(), 1u);
  BOOST_TEST(with_alias.errors[0].find("c.yaml:9:9: error: contract C-1: alias value 'yes' is not a value of knob "
                                       "'batched_prefill' (bool)") == 0,
             with_alias.errors[0]);
  const CheckReport with_target = CheckContracts(DefaultPolicy(), *contracts, {});
  BOOST_REQUIRE_EQUAL(with_target.errors.size(), 1u);
  BOOST_TEST(with_target.errors[0].find("c.yaml:9:9: error: contract C-1: the variant batched_prefill = false maps to, "
                                        "'seriall' is not a value of knob 'prefill_path'") == 0,
             with_target.errors[0]);
}

// Finding 9: an override that no value makes decide on a recorded GPU was
// skipped without a word; now it is listed, with the values tried.
BOOST_AUTO_TEST_CASE(an_override_that_never_decides_on_a_recorded_gpu_is_reported) {
  auto policy = LoadPolicyText(R"(kpolicy: 1
name: only-blackwell
version: 1
extends: builtin:default
knobs:
  q4k:
    env:
      - {var: ONLY_ON_BLACKWELL, value: HwDp4a, when: device.cc >= 120 && ONLY_ON_BLACKWELL == "yes"}
)",
                               "o.yaml");
  BOOST_REQUIRE_MESSAGE(policy.ok(), (policy.ok() ? std::string() : policy.error().ToString()));
  auto record = ParseParityRecord(Record(), "r.yaml");
  BOOST_REQUIRE(record.ok());
  const CheckReport report = CheckContracts(*policy, ShippedContracts(), {*record});
  BOOST_REQUIRE_EQUAL(report.unreached_overrides.size(), 1u);
  BOOST_TEST(report.unreached_overrides[0].find("o.yaml:8:9: override ONLY_ON_BLACKWELL of knob q4k decides nothing on X") == 0,
             report.unreached_overrides[0]);
  BOOST_TEST(report.unreached_overrides[0].find(R"(ONLY_ON_BLACKWELL = "1", "yes", "0")") != std::string::npos,
             report.unreached_overrides[0]);
  const tools::CapturedRun run = tools::RunPolicyctlCaptured({"check", "--contracts", kContracts, "builtin:default"});
  BOOST_TEST(run.out.find("; 0 overrides not checked") != std::string::npos, run.out);
}

// ---- Folders ---------------------------------------------------------------

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-hostile-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

// Finding 6: a.yml was skipped in silence (and with it its evidence).
BOOST_AUTO_TEST_CASE(a_yml_record_is_an_error_not_skipped) {
  TempDir dir;
  dir.Write("h100.yaml", Record());
  dir.Write("gb10.yml", Record());
  dir.Write("README.md", "not a record");
  auto records = LoadParityRecordDirectory(dir.path.string());
  BOOST_REQUIRE(!records.ok());
  const std::string text = records.error().ToString();
  BOOST_TEST(text.find("gb10.yml: error: not read: records are read from *.yaml files only; rename it to gb10.yaml") !=
                 std::string::npos,
             text);
  BOOST_TEST(records.error().error_count() == 1);
  dir.Write("contracts.YML", ContractFile());
  auto contracts = LoadContractDirectory(dir.path.string());
  BOOST_REQUIRE(!contracts.ok());
  BOOST_TEST(contracts.error().ToString().find("contracts.YML: error: not read: contracts are read from *.yaml") !=
                 std::string::npos,
             contracts.error().ToString());
}

// A *.yaml that is a folder or a FIFO is refused at once (a FIFO would
// block the reader forever).
BOOST_AUTO_TEST_CASE(a_yaml_entry_that_is_not_a_regular_file_is_an_error) {
  TempDir dir;
  dir.Write("h100.yaml", Record());
  fs::create_directory(dir.path / "folder.yaml");
  BOOST_REQUIRE(::mkfifo((dir.path / "pipe.yaml").c_str(), 0600) == 0);
  auto records = LoadParityRecordDirectory(dir.path.string());
  BOOST_REQUIRE(!records.ok());
  const std::string text = records.error().ToString();
  BOOST_TEST(text.find("folder.yaml: error: not read: not a regular file") != std::string::npos, text);
  BOOST_TEST(text.find("pipe.yaml: error: not read: not a regular file") != std::string::npos, text);
}

// A record of no GPU (num_sms 0: the CPU emulation's) loads alone, but not
// among the records check reads, where it would be a device of 0 SMs.
BOOST_AUTO_TEST_CASE(a_record_of_no_gpu_is_refused_among_gpu_records) {
  const std::string no_gpu = Record(R"({name: X, cc: "9.0", num_sms: 0})");
  BOOST_TEST(ParseParityRecord(no_gpu, "r.yaml").ok());
  TempDir dir;
  dir.Write("emulation.yaml", no_gpu);
  auto records = LoadParityRecordDirectory(dir.path.string());
  BOOST_REQUIRE(!records.ok());
  BOOST_TEST(records.error().ToString().find("emulation.yaml:2:9: error: num_sms 0 names no GPU") != std::string::npos,
             records.error().ToString());
}

// Finding 9, end to end: the shipped contracts with a typo in the GB10
// contract's operation. Before, check passed (exit 0) with the one known
// violation gone; now it stops at the typo.
BOOST_AUTO_TEST_CASE(a_typo_in_a_shipped_contract_stops_check) {
  TempDir dir;
  fs::copy(kContracts, dir.path, fs::copy_options::recursive);
  const fs::path file = dir.path / "cpu-gpu-parity.yaml";
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t at = text.find("operation: q4k_gemv");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 19, "operation: q4k_gemvv");
  std::ofstream(file) << text;
  // HwDp4a wherever DP4A exists, GB10 included: the known violation.
  dir.Write("force-hwdp4a.yaml", "kpolicy: 1\nname: force-hwdp4a\nversion: 1\nextends: builtin:seed\n"
                                 "knobs:\n  q4k:\n    remove_rules: [blackwell-mwv]\n");
  const std::string policy = (dir.path / "force-hwdp4a.yaml").string();
  const tools::CapturedRun before = tools::RunPolicyctlCaptured({"check", "--contracts", kContracts, policy});
  BOOST_TEST(before.status == 1);
  BOOST_TEST(before.err.find("violation: ") != std::string::npos, before.err);
  const tools::CapturedRun run = tools::RunPolicyctlCaptured({"check", "--contracts", dir.path.string(), policy});
  BOOST_TEST(run.status == 1);
  BOOST_TEST(run.err.find("cpu-gpu-parity.yaml:11:16: error: unknown operation 'q4k_gemvv' in contract FALSIFY-CPU-GPU-008") !=
                 std::string::npos,
             run.err);
}

}  // namespace
}  // namespace kpolicy
