// Contracts as a specification: a policy that would select a variant known
// to break a contract on a recorded GPU fails, naming what and where; a
// variant without a record is unproven, never passing; broken contract and
// record files are refused with their line and column.
#define BOOST_TEST_MODULE contract_check
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <fstream>
#include <random>
#include <sstream>

#include "commands.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/workload.h"
#include "kpolicy/policy_loader.h"

namespace kpolicy {
namespace {

namespace fs = std::filesystem;

const std::string kContracts = std::string(KPOLICY_SOURCE_DIR) + "/contracts";

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-contract-" + std::to_string(rd()));
    fs::create_directories(path / "parity");
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

const std::vector<Contract>& Contracts() {
  static const std::vector<Contract> c = [] {
    auto loaded = LoadContractDirectory(kContracts);
    if (!loaded.ok()) BOOST_FAIL("contracts do not load:\n" + loaded.error().ToString());
    return std::move(loaded).value();
  }();
  return c;
}

const std::vector<ParityRecord>& Records() {
  static const std::vector<ParityRecord> r = [] {
    auto loaded = LoadParityRecordDirectory(kContracts + "/parity");
    if (!loaded.ok()) BOOST_FAIL("records do not load:\n" + loaded.error().ToString());
    return std::move(loaded).value();
  }();
  return r;
}

Policy MustLoad(const std::string& text, const std::string& name) {
  auto p = LoadPolicyText(text, name);
  if (!p.ok()) BOOST_FAIL("policy does not load:\n" + p.error().ToString());
  return std::move(p).value();
}

// The default policy with the Blackwell rule removed: HwDp4a everywhere DP4A exists.
const char* kForceHwDp4a = R"(kpolicy: 1
name: force-hwdp4a
version: 1
extends: builtin:seed
knobs:
  q4k:
    remove_rules: [blackwell-mwv]
)";

using Run = tools::CapturedRun;

Run Policyctl(const std::vector<std::string>& args) { return tools::RunPolicyctlCaptured(args); }

BOOST_AUTO_TEST_CASE(shipped_contracts_and_records_load) {
  BOOST_TEST(Contracts().size() >= 5u);
  bool has_008 = false;
  for (const Contract& c : Contracts()) has_008 |= c.id == "FALSIFY-CPU-GPU-008";
  BOOST_TEST(has_008);
  bool has_gb10 = false;
  for (const ParityRecord& r : Records()) {
    if (r.device_key == "gb10") {
      has_gb10 = true;
      BOOST_TEST(r.provenance.kind == "reported");
      BOOST_TEST(r.Matches(FindCatalogDevice("gb10")->ToFacts()));
    }
  }
  BOOST_TEST(has_gb10);
}

// What `policyctl record` writes, LoadParityRecord reads back unchanged.
BOOST_AUTO_TEST_CASE(a_formatted_record_reads_back_the_same) {
  TempDir dir;
  for (const ParityRecord& original : Records()) {
    auto copy = LoadParityRecord(dir.Write("parity/copy.yaml", FormatParityRecord(original)));
    BOOST_REQUIRE_MESSAGE(copy.ok(), (copy.ok() ? std::string() : copy.error().ToString()));
    const Provenance& a = original.provenance;
    const Provenance& b = copy->provenance;
    BOOST_TEST(b.kind == a.kind);
    BOOST_TEST(b.date == a.date);
    BOOST_TEST(b.source == a.source);
    BOOST_TEST(b.driver == a.driver);
    BOOST_TEST(b.git_commit == a.git_commit);
    BOOST_TEST(b.command == a.command);
    BOOST_TEST(b.speed_method == a.speed_method);
    BOOST_TEST(copy->device.name == original.device.name);
    BOOST_TEST(copy->device.cc() == original.device.cc());
    BOOST_TEST(copy->device.num_sms == original.device.num_sms);
    BOOST_REQUIRE(copy->results.size() == original.results.size());
    for (size_t i = 0; i < original.results.size(); ++i) {
      BOOST_TEST(copy->results[i].variant == original.results[i].variant);
      BOOST_TEST(copy->results[i].workload == original.results[i].workload);
      BOOST_TEST(copy->results[i].metrics == original.results[i].metrics);
    }
  }
}

// The provenance's speed_method (how `policyctl record` timed the speed
// fields) is written and read back; a misspelling of it is an error.
BOOST_AUTO_TEST_CASE(a_record_keeps_how_its_speed_was_measured) {
  TempDir dir;
  ParityRecord record = Records().front();
  record.provenance.speed_method = "GEMV rows: CUDA graph replay; GEMM rows: L2 flushed calls";
  const std::string text = FormatParityRecord(record);
  BOOST_TEST(text.find("  speed_method: \"GEMV rows: CUDA graph replay; GEMM rows: L2 flushed calls\"\n") !=
                 std::string::npos,
             text);
  auto copy = LoadParityRecord(dir.Write("parity/method.yaml", text));
  BOOST_REQUIRE_MESSAGE(copy.ok(), (copy.ok() ? std::string() : copy.error().ToString()));
  BOOST_TEST(copy->provenance.speed_method == record.provenance.speed_method);

  std::string misspelt = text;
  misspelt.replace(misspelt.find("speed_method:"), 13, "speed_methd:");
  auto bad = LoadParityRecord(dir.Write("parity/misspelt.yaml", misspelt));
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().ToString().find("speed_method") != std::string::npos, bad.error().ToString());
}

BOOST_AUTO_TEST_CASE(default_policy_passes) {
  auto p = LoadPolicyText(BuiltinDefaultPolicyText(), "builtin:default");
  BOOST_REQUIRE(p.ok());
  const CheckReport report = CheckContracts(*p, Contracts(), Records());
  BOOST_TEST(report.errors.empty());
  BOOST_TEST(report.passed());
  BOOST_TEST(report.Count(CheckFinding::kPass, true) > 0);
}

BOOST_AUTO_TEST_CASE(hwdp4a_on_blackwell_fails_naming_gb10_and_the_contract) {
  const Policy p = MustLoad(kForceHwDp4a, "force.yaml");
  const CheckReport report = CheckContracts(p, Contracts(), Records());
  BOOST_TEST(!report.passed());
  std::vector<const CheckFinding*> violations;
  bool prefill_too = false;
  for (const CheckFinding& f : report.findings) {
    // The RTX 4090 record (covering Ada) breaks it too; this case is GB10's.
    // The seed's batched prefill breaks FALSIFY-CPU-GPU-009 there as well.
    if (f.kind == CheckFinding::kViolation && f.environment.empty() && f.device.find("GB10") != std::string::npos) {
      if (f.contract == "FALSIFY-CPU-GPU-009") prefill_too = true;
      else violations.push_back(&f);
    }
  }
  BOOST_TEST(prefill_too);
  BOOST_REQUIRE(violations.size() == 1u);
  const CheckFinding& v = *violations[0];
  BOOST_TEST(v.contract == "FALSIFY-CPU-GPU-008");
  BOOST_TEST(v.knob == "q4k");
  BOOST_TEST(v.variant == "HwDp4a");
  BOOST_TEST(v.metric == "cosine");
  BOOST_TEST(v.measured == 0.9817);
  BOOST_TEST(v.threshold == "cosine >= 0.99");
  const std::string line = v.ToString();
  for (const char* part : {"force-hwdp4a 1", "GB10", "gb10.yaml", "q4k = HwDp4a", "FALSIFY-CPU-GPU-008",
                           "cosine 0.9817", "cosine >= 0.99", "reported 2026-06-16", "aprender-serve"}) {
    BOOST_TEST(line.find(part) != std::string::npos, part << " missing from: " << line);
  }
}

BOOST_AUTO_TEST_CASE(policyctl_check_exits_1_on_a_violation) {
  TempDir dir;
  const std::string policy = dir.Write("force.yaml", kForceHwDp4a);
  Run r = Policyctl({"check", "--contracts", kContracts, "--policy", policy});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("violation: force-hwdp4a 1") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("breaks FALSIFY-CPU-GPU-008: cosine 0.9817 on model-parity-gate, needs cosine >= 0.99") !=
                 std::string::npos, r.err);
  Run ok = Policyctl({"check", "--contracts", kContracts});
  BOOST_TEST(ok.status == 0, ok.err);
}

BOOST_AUTO_TEST_CASE(an_override_that_breaks_a_contract_is_a_warning) {
  auto p = LoadPolicyText(BuiltinDefaultPolicyText(), "builtin:default");
  const CheckReport report = CheckContracts(*p, Contracts(), Records());
  bool warned = false;
  for (const CheckFinding& f : report.findings) {
    if (f.kind == CheckFinding::kViolation) {
      BOOST_TEST(!f.environment.empty());
      warned |= f.environment == "HW_DP4A_Q4K=1" && f.contract == "FALSIFY-CPU-GPU-008";
    }
  }
  BOOST_TEST(warned);
}

BOOST_AUTO_TEST_CASE(a_variant_without_a_record_is_unproven_not_passing) {
  const Policy p = MustLoad(R"(kpolicy: 1
name: legacy
version: 1
extends: builtin:seed
knobs:
  q4k:
    remove_rules: [blackwell-mwv, dp4a]
    default: Legacy
)", "legacy.yaml");
  const CheckReport report = CheckContracts(p, Contracts(), Records());
  bool unproven_008 = false;
  // GB10's record covers only HwDp4a and Mwv.
  for (const CheckFinding& f : report.findings) {
    if (f.knob != "q4k" || !f.environment.empty() || f.device.find("GB10") == std::string::npos) continue;
    BOOST_TEST(f.kind != CheckFinding::kPass);
    unproven_008 |= f.kind == CheckFinding::kUnproven && f.contract == "FALSIFY-CPU-GPU-008" &&
                    f.detail.find("no record of q4k_gemv Legacy") != std::string::npos;
  }
  BOOST_TEST(unproven_008);
}

BOOST_AUTO_TEST_CASE(a_record_with_a_typo_fails_with_line_and_column) {
  TempDir dir;
  const std::string path = dir.Write("parity/x.yaml", R"(kpolicy_record: 1
device: {name: X, cc: "9.0", num_sms: 132}
provenance: {kind: reported, date: "2026-01-01", source: a paper}
results:
  - operation: q4k_gemv
    variant: HwDp4a
    workload: plain
    metrics: {cosine: 0.999, cosin: 0.5}
)");
  auto r = LoadParityRecord(path);
  BOOST_REQUIRE(!r.ok());
  const Diagnostic& d = r.error().all()[0];
  BOOST_TEST(d.location.line == 8);
  BOOST_TEST(d.location.column == 30);
  BOOST_TEST(d.message.find("unknown key 'cosin'") != std::string::npos, d.message);
  BOOST_TEST(d.message.find("did you mean 'cosine'?") != std::string::npos, d.message);
}

BOOST_AUTO_TEST_CASE(record_errors_each_name_their_place) {
  TempDir dir;
  const std::string path = dir.Write("parity/y.yaml", R"(kpolicy_record: 1
device: {name: Y, cc: "nine", num_sms: -4}
provenance: {kind: measured, date: "2026-01-01"}
results:
  - operation: q6k_gemv
    variant: Mwv
    metrics: {cosine: high}
)");
  auto r = LoadParityRecord(path);
  BOOST_REQUIRE(!r.ok());
  const std::string text = r.error().ToString();
  BOOST_TEST(text.find("y.yaml:2:23: error: compute capability 'nine' is not MAJOR.MINOR") != std::string::npos, text);
  BOOST_TEST(text.find("y.yaml:2:40: error: 'num_sms' is -4; it must be a number in [0, 1024]") != std::string::npos, text);
  BOOST_TEST(text.find("y.yaml:3:13: error: a measured record gives its 'driver'") != std::string::npos, text);
  BOOST_TEST(text.find("y.yaml:5:5: error: missing 'workload' in a measurement") != std::string::npos, text);
  BOOST_TEST(text.find("y.yaml:7:23: error: 'cosine' must be a decimal number, not 'high'") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(contract_errors_each_name_their_place) {
  TempDir dir;
  const std::string path = dir.Write("c.yaml", R"(kpolicy_contracts: 1
contracts:
  - id: C-1
    knob: q4k
    operation: q4k_gemv
    workloads: [plain]
    thresholds:
      cosine: {minimum: 0.9}
      speed: {max: 1}
  - id: C-2
    knob: q4k
    operation: q4k_gemv
    workload: [plain]
    thresholds: {cosine: {min: 0.9}}
)");
  auto c = LoadContractFile(path);
  BOOST_REQUIRE(!c.ok());
  const std::string text = c.error().ToString();
  BOOST_TEST(text.find("c.yaml:8:16: error: unknown key 'minimum' in the threshold of cosine; allowed: min, max") != std::string::npos, text);
  BOOST_TEST(text.find("c.yaml:9:7: error: unknown key 'speed' in the thresholds of contract C-1") != std::string::npos, text);
  BOOST_TEST(text.find("c.yaml:13:5: error: unknown key 'workload' in a contract (did you mean 'workloads'?)") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(explain_cites_the_evidence_for_the_chosen_value) {
  Run r = Policyctl({"explain", "--device", "gb10", "--clean-env", "--contracts", kContracts});
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(r.out.find("✓ FALSIFY-CPU-GPU-008  cosine 0.9939 on model-parity-gate (needs cosine >= 0.99)") !=
                 std::string::npos, r.out);
  BOOST_TEST(r.out.find("gb10.yaml: reported 2026-06-16") != std::string::npos, r.out);
  Run json = Policyctl({"explain", "--device", "gb10", "--clean-env", "--contracts", kContracts, "--format", "json"});
  BOOST_TEST(json.out.find("\"evidence\": [") != std::string::npos);
  Run forced = Policyctl({"explain", "--device", "gb10", "--clean-env", "--env", "HW_DP4A_Q4K=1", "--contracts", kContracts});
  BOOST_TEST(forced.out.find("✗ FALSIFY-CPU-GPU-008  cosine 0.9817 on model-parity-gate (needs cosine >= 0.99)") !=
                 std::string::npos, forced.out);
}

// ---- fp16-overflow-sum: the CPU emulation's figures, and a failing record ----

namespace kn = kpolicy::kernels;

constexpr const char* kOverflowWorkload = "fp16-overflow-sum";

// Every GEMV variant's arithmetic on the CPU (each row's `emulate` in
// kernels/gemv_variants.h: the DP4A variants through the Q8_1 emulation) on the fp16-overflow-sum
// workload, as record rows: what CI can show without a GPU. The shape is
// record's K and M (4096, 4) with 256 of its 4096 rows, so that the Q4_K
// quantiser and ten emulations take seconds; the error is per output, so
// fewer rows change the figures only by sampling.
std::vector<Measurement> EmulatedOverflowMeasurements() {
  const int64_t n = 256, k = 4096, m = 4;
  std::vector<Measurement> out;
  for (const kn::WeightFormat format : {kn::WeightFormat::kQ4K, kn::WeightFormat::kQ6K}) {
    const kn::Activations x = kn::MakeActivations(14, kn::Fp16OverflowSumSpec(m, k));
    std::vector<float> w = kn::GaussianWeights(11, n, k);
    kn::DampMassiveColumns(w, n, k, x.massive, x.massive_factor);
    const kn::WeightMatrix weights = kn::QuantizeWeights(format, w, n, k);
    const std::vector<double> reference = kn::ReferenceGemv(weights.view(), x.values, m);
    const kn::GemvOp gemv_op = format == kn::WeightFormat::kQ4K ? kn::GemvOp::kQ4K : kn::GemvOp::kQ6K;
    const std::string op(kn::GemvOpName(gemv_op));
    for (const kn::GemvVariant* variant : kn::GemvVariantsOf(gemv_op)) {
      const kn::GemvVariant& v = *variant;
      Measurement row;
      row.operation = op + "_gemv";
      row.variant = std::string(v.name);
      row.workload = kOverflowWorkload;
      row.shape = "n=256 k=4096 m=4 (CPU emulation)";
      row.metrics =
          kn::ComputeParity(reference, v.emulate(weights.view(), x.values, m), n).ByRecordName();
      out.push_back(std::move(row));
    }
  }
  return out;
}

// A record for the H100's chip configuration (cc 9.0, 132 SMs), where the
// default policy picks the DP4A variants.
ParityRecord OverflowRecord(std::vector<Measurement> results) {
  ParityRecord record;
  for (const ParityRecord& r : Records()) {
    if (r.device_key == "h100") record.device = r.device;
  }
  record.provenance.kind = "reported";
  record.provenance.date = "2026-12-01";
  record.provenance.source = "contract_check_test: CPU emulation of each variant's arithmetic";
  record.results = std::move(results);
  return record;
}

// Every variant, not only the ones a policy picks, meets every contract on
// the workload: the fp16 sum's failure would show here as nan/inf counts.
BOOST_AUTO_TEST_CASE(cpu_emulation_of_every_variant_meets_the_fp16_overflow_sum_contracts) {
  const std::vector<Measurement> rows = EmulatedOverflowMeasurements();
  BOOST_TEST(rows.size() == kn::BuiltinGemvVariants().size());
  std::map<std::string, int> contracts_per_op;
  for (const Contract& c : Contracts()) {
    if (std::find(c.workloads.begin(), c.workloads.end(), kOverflowWorkload) == c.workloads.end()) continue;
    ++contracts_per_op[c.operation];
    for (const Measurement& row : rows) {
      if (row.operation != c.operation) continue;
      for (const Threshold& t : c.thresholds) {
        BOOST_TEST(t.Holds(row.metrics.at(t.metric)),
                   c.id << ": " << row.variant << " " << t.metric << " " << row.metrics.at(t.metric) << ", needs "
                        << t.ToString());
      }
    }
  }
  BOOST_TEST(contracts_per_op["q4k_gemv"] >= 1);
  BOOST_TEST(contracts_per_op["q6k_gemv"] >= 1);
  for (const Measurement& row : rows) {
    BOOST_TEST_MESSAGE(row.operation << " " << row.variant << " on " << kOverflowWorkload << ": cosine "
                                     << row.metrics.at("cosine") << ", rel. error "
                                     << row.metrics.at("relative_l2_error"));
  }
  // Through the checker too: the default policy's picks on the H100 pass.
  auto p = LoadPolicyText(BuiltinDefaultPolicyText(), "builtin:default");
  BOOST_REQUIRE(p.ok());
  const CheckReport report = CheckContracts(*p, Contracts(), {OverflowRecord(rows)});
  int passes = 0;
  for (const CheckFinding& f : report.findings) {
    if (f.environment.empty() && f.workload == kOverflowWorkload) {
      BOOST_TEST(f.kind == CheckFinding::kPass, f.ToString());
      ++passes;
    }
  }
  BOOST_TEST(passes == 2 * 4);  // q4k and q6k, four thresholds each
}

// A record whose HwDp4a Q4_K output on the workload holds inf (what the fp16
// sum gave: the min term dmin * m * inf) fails `policyctl check`, naming the
// contract and the metric.
BOOST_AUTO_TEST_CASE(a_record_with_inf_output_on_fp16_overflow_sum_fails_check) {
  std::vector<Measurement> rows = EmulatedOverflowMeasurements();
  std::vector<double> reference(4096, 1.0), candidate(4096, 1.0);
  for (size_t i = 0; i < candidate.size(); i += 2) candidate[i] = -std::numeric_limits<double>::infinity();
  for (Measurement& row : rows) {
    if (row.operation == "q4k_gemv" && row.variant == "HwDp4a") {
      row.metrics = kn::ComputeParity(reference, candidate).ByRecordName();
    }
  }
  TempDir dir;
  for (const auto& entry : fs::directory_iterator(kContracts)) {
    if (entry.path().extension() == ".yaml") fs::copy_file(entry.path(), dir.path / entry.path().filename());
  }
  dir.Write("parity/h100-overflow.yaml", FormatParityRecord(OverflowRecord(rows)));
  // The seed selects HwDp4a on the H100 (default v2 runs Mwv there).
  Run r = Policyctl({"check", "--contracts", dir.path.string(), "builtin:seed"});
  BOOST_TEST(r.status == 1, r.err);
  BOOST_TEST(r.err.find("breaks KPOLICY-GEMV-FP16-OVERFLOW-SUM-Q4K: inf_count 2048 on fp16-overflow-sum, needs "
                        "inf_count <= 0") != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("q4k = HwDp4a") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("KPOLICY-GEMV-FP16-OVERFLOW-SUM-Q6K") == std::string::npos, r.err);
}

}  // namespace
}  // namespace kpolicy

namespace kpolicy {
namespace {

// A model-level row as `policyctl record --model` writes it, for an H200.
ParityRecord ModelLevelRecord(double cosine, double argmax_agreement) {
  ParityRecord record;
  record.device = DeviceFromComputeCapability(9, 0, 132, "test");
  record.device.name = "NVIDIA H200 (test record)";
  record.provenance.kind = "reported";
  record.provenance.date = "2026-12-02";
  record.provenance.source = "contract_check_test: a synthetic model-level row";
  Measurement m;
  m.operation = "q4k_gemv";
  m.variant = "HwDp4a";  // the seed policy's q4k on sm_90 (default v2 takes Mwv there)
  m.workload = "model-parity-gate";
  m.shape = "gemma-3-270m-q4_k_m.gguf (gemma3), every product matrix requantised to Q4_K, 32 positions";
  m.metrics = {{"cosine", cosine}, {"argmax_agreement", argmax_agreement}, {"first_divergence", -1},
               {"nan_count", 0}};
  record.results.push_back(m);
  return record;
}

Run CheckWithRecord(const ParityRecord& record) {
  TempDir dir;
  for (const auto& entry : fs::directory_iterator(kContracts)) {
    if (entry.path().extension() == ".yaml") fs::copy_file(entry.path(), dir.path / entry.path().filename());
  }
  dir.Write("parity/h200-model.yaml", FormatParityRecord(record));
  // The seed's policy, which picks HwDp4a on sm_90, so that the row decides.
  return Policyctl({"check", "--contracts", dir.path.string(), "-v", "builtin:seed"});
}

BOOST_AUTO_TEST_CASE(a_model_level_row_below_the_floor_fails_check_naming_the_contract_and_model) {
  const Run r = CheckWithRecord(ModelLevelRecord(0.9186, 1.0));  // RTX 4090 HwDp4a's cosine (issue 11)
  BOOST_TEST(r.status == 1, r.err);
  BOOST_TEST(r.err.find("breaks FALSIFY-CPU-GPU-008: cosine 0.9186 on model-parity-gate") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("gemma-3-270m-q4_k_m.gguf") != std::string::npos, r.err);
  const Run argmax = CheckWithRecord(ModelLevelRecord(0.999, 31.0 / 32.0));
  BOOST_TEST(argmax.status == 1, argmax.err);
  BOOST_TEST(argmax.err.find("breaks FALSIFY-CPU-GPU-008: argmax_agreement") != std::string::npos, argmax.err);
}

BOOST_AUTO_TEST_CASE(a_model_level_row_at_the_floor_proves_the_contract) {
  const Run r = CheckWithRecord(ModelLevelRecord(0.9937, 1.0));  // RTX 4090 Mwv's min cosine (issue 11)
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out.find("q4k = HwDp4a meets FALSIFY-CPU-GPU-008: cosine 0.9937 on model-parity-gate") !=
                 std::string::npos, r.out);
}

// The committed CPU-emulation record (contracts/emulation/) loads and holds
// a model-level row for every Q4_K and Q6_K variant of both models.
BOOST_AUTO_TEST_CASE(the_cpu_emulation_record_has_every_variant_of_both_models) {
  auto record = LoadParityRecord(std::string(KPOLICY_SOURCE_DIR) + "/contracts/emulation/cpu-emulation.yaml");
  BOOST_REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().ToString()));
  for (const char* model : {"gemma-3-270m-q4_k_m.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"}) {
    for (const kn::GemvVariant& v : kn::BuiltinGemvVariants()) {
      const std::string operation = std::string(kn::GemvOpName(v.op)) + "_gemv";
      const bool found = std::any_of(record->results.begin(), record->results.end(), [&](const Measurement& m) {
        return m.operation == operation && m.variant == v.name && m.workload == "model-parity-gate" &&
               m.shape.find(model) != std::string::npos && m.metrics.count("cosine") &&
               m.metrics.count("argmax_agreement") && m.metrics.count("first_divergence");
      });
      BOOST_TEST(found, model << " " << operation << " " << v.name);
    }
  }
}

}  // namespace
}  // namespace kpolicy
