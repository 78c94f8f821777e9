// The runtime's parity records (evidence_source.h) on fake devices, no GPU:
// where they come from, what a missing or broken folder does, and that a
// rule asking for evidence fires at startup exactly as `policyctl explain
// --contracts DIR` shows, with the record cited in the log line and the
// effective configuration.
#define BOOST_TEST_MODULE runtime_evidence
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "commands.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/json.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::runtime {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = KPOLICY_SOURCE_DIR;

// A scratch folder holding contracts folders: each a copy of the shipped
// contracts and records (contracts/, contracts/parity/) plus test records
// from tests/data/issue13.
struct Scratch {
  fs::path root;
  Scratch() {
    std::random_device rd;
    root = fs::temp_directory_path() / ("kpolicy-evidence-" + std::to_string(rd()));
    fs::create_directories(root);
  }
  ~Scratch() { fs::remove_all(root); }

  std::string Contracts(const std::string& name, const std::vector<std::string>& test_records = {},
                        bool shipped_records = true) const {
    const fs::path dir = root / name;
    fs::create_directories(dir / "parity");
    CopyYaml(kSource / "contracts", dir);
    if (shipped_records) CopyYaml(kSource / "contracts" / "parity", dir / "parity");
    for (const std::string& r : test_records) fs::copy_file(kSource / "tests/data/issue13" / r, dir / "parity" / r);
    return dir.string();
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(root / name) << text;
    return (root / name).string();
  }

 private:
  static void CopyYaml(const fs::path& from, const fs::path& to) {
    for (const auto& entry : fs::directory_iterator(from)) {
      if (entry.path().extension() == ".yaml") fs::copy_file(entry.path(), to / entry.path().filename());
    }
  }
};

// Nothing configured but what a test sets: no system policy, no system
// contracts folder, an empty environment.
StartOptions On(const char* catalog_key, const Scratch& s) {
  StartOptions o;
  o.environment = Environment();
  o.device = FindCatalogDevice(catalog_key)->ToFacts();
  o.system_policy_path = (s.root / "etc-policy.yaml").string();
  o.system_contracts_path = (s.root / "etc-contracts").string();
  return o;
}

std::unique_ptr<Runtime> MustStart(const StartOptions& o) {
  auto rt = Runtime::Start(o);
  if (!rt.ok()) BOOST_FAIL("startup failed: " + rt.error().ToString());
  return std::move(rt).value();
}

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON: " + text);
  return std::move(v).value();
}

// The log line's q4k entry: {"value", "source", "evidence": [{"rule", "records"}]}.
JsonValue LoggedQ4k(const Runtime& rt) { return *MustParse(rt.log_line()).Find("knobs")->Find("q4k"); }
std::string EvidenceSaid(const JsonValue& knob) {
  const JsonValue* evidence = knob.Find("evidence");
  if (!evidence || evidence->items.empty()) return "";
  return evidence->items[0].Find("records")->text;
}

ModelFacts Qwen() { return {"qwen2", "qwen2.5-coder-1.5B", "Q4_K_M", "1.5B"}; }

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

BOOST_AUTO_TEST_CASE(without_records_evidence_rules_do_not_fire_and_the_trace_says_so) {
  Scratch s;
  auto rt = MustStart(On("a100", s));
  BOOST_TEST(rt->evidence_source().kind == EvidenceSource::kNone);
  BOOST_TEST(rt->evidence() == nullptr);
  BOOST_TEST(rt->dispatch().q4k == "Mwv");
  const JsonValue q4k = LoggedQ4k(*rt);
  BOOST_TEST(q4k.Find("source")->text == "default");
  BOOST_TEST(q4k.Find("evidence")->items[0].Find("rule")->text == "dp4a-proven");
  BOOST_TEST(Has(EvidenceSaid(q4k), "no records were given, so nothing proves HwDp4a: not fired"), EvidenceSaid(q4k));
  const JsonValue log = MustParse(rt->log_line());
  BOOST_TEST(Has(log.Find("evidence")->Find("source")->text, "none (no contracts folder configured"));
  BOOST_TEST(log.Find("evidence")->Find("records")->items.empty());
}

BOOST_AUTO_TEST_CASE(records_from_kpolicy_contracts_fire_the_rule_and_the_log_cites_the_record) {
  Scratch s;
  const std::string dir = s.Contracts("contracts", {"a100-proves-hwdp4a.yaml"});
  StartOptions o = On("a100", s);
  o.environment->Set(kContractsVariable, dir);
  auto rt = MustStart(o);
  BOOST_TEST(rt->evidence_source().kind == EvidenceSource::kEnvironment);
  BOOST_TEST(rt->dispatch().q4k == "HwDp4a");
  BOOST_TEST(rt->dispatch().fused_gate_up);  // its default follows q4k, within its constraint
  const JsonValue q4k = LoggedQ4k(*rt);
  BOOST_TEST(q4k.Find("source")->text == "rule dp4a-proven");
  BOOST_TEST(Has(EvidenceSaid(q4k), "proven by " + dir + "/parity/a100-proves-hwdp4a.yaml: cosine 0.9991"),
             EvidenceSaid(q4k));
  const JsonValue log = MustParse(rt->log_line());
  BOOST_TEST(log.Find("evidence")->Find("source")->text == std::string(kContractsVariable) + "=" + dir);
  BOOST_TEST(log.Find("evidence")->Find("records")->items.size() == rt->evidence()->records.size());
  // The effective configuration says the same.
  const JsonValue config = MustParse(rt->EffectiveConfigJson());
  bool cited = false;
  for (const JsonValue& k : config.Find("devices")->items.at(0).Find("knobs")->items) {  // the one GPU
    if (k.Find("name")->text == "q4k") cited = Has(EvidenceSaid(k), "a100-proves-hwdp4a.yaml");
  }
  BOOST_TEST(cited);
  // An H100 has no record proving it (the H200 record, same chip
  // configuration, shows HwDp4a breaking the contract): Mwv, and why.
  StartOptions h100 = On("h100", s);
  h100.environment->Set(kContractsVariable, dir);
  auto on_h100 = MustStart(h100);
  BOOST_TEST(on_h100->dispatch().q4k == "Mwv");
  BOOST_TEST(Has(EvidenceSaid(LoggedQ4k(*on_h100)), ": not fired"), EvidenceSaid(LoggedQ4k(*on_h100)));
}

// The runtime and `policyctl explain --contracts DIR` read the same folder
// the same way: the same value, decided by the same rule, with the same words.
BOOST_AUTO_TEST_CASE(startup_decides_as_explain_shows) {
  Scratch s;
  const std::string dir = s.Contracts("contracts", {"a100-proves-hwdp4a.yaml"});
  for (const char* device : {"a100", "h100", "rtx4090", "gb10", "t4"}) {
    StartOptions o = On(device, s);
    o.contracts_path = dir;
    auto rt = MustStart(o);
    BOOST_TEST((rt->dispatch().q4k == "HwDp4a") == (std::string(device) == "a100"), device);
    const tools::CapturedRun explain = tools::RunPolicyctlCaptured(
        {"explain", "--contracts", dir, "--device", device, "--clean-env", "--format", "json"}, Environment());
    BOOST_REQUIRE(explain.status == 0);
    const JsonValue shown = MustParse(explain.out);
    for (const JsonValue& k : shown.Find("knobs")->items) {
      if (k.Find("name")->text != "q4k") continue;
      BOOST_TEST(k.Find("value")->text == rt->dispatch().q4k, device);
      // dp4a-proven is the deciding rule where it fired, else one that did not match.
      const JsonValue* rule = k.Find("decided_by");
      if (rule->Find("kind")->text != "rule") rule = &k.Find("rules_not_matching")->items.at(0);
      BOOST_TEST(rule->Find("id")->text == "dp4a-proven");
      const JsonValue* said = rule->Find("evidence");
      BOOST_TEST(EvidenceSaid(LoggedQ4k(*rt)) == (said ? said->text : ""), device);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_record_of_one_model_speaks_for_that_model_only) {
  Scratch s;
  StartOptions o = On("a10", s);
  o.contracts_path = s.Contracts("contracts", {"a10-qwen-proves-hwdp4a.yaml"});
  o.model = Qwen();
  BOOST_TEST(MustStart(o)->dispatch().q4k == "HwDp4a");
  const JsonValue logged = MustParse(MustStart(o)->log_line());
  BOOST_TEST(logged.Find("model")->Find("name")->text == "qwen2.5-coder-1.5B");
  o.model = {"llama", "Llama 3 8B", "Q4_K_M", "8B"};
  auto other = MustStart(o);
  BOOST_TEST(other->dispatch().q4k == "Mwv");
  BOOST_TEST(Has(EvidenceSaid(LoggedQ4k(*other)), "no record proves FALSIFY-CPU-GPU-008 for q4k = HwDp4a"));
  o.model = {};  // unknown: a model's record proves nothing
  BOOST_TEST(MustStart(o)->dispatch().q4k == "Mwv");
}

BOOST_AUTO_TEST_CASE(explicit_beats_environment_beats_system) {
  Scratch s;
  StartOptions o = On("a100", s);
  o.system_contracts_path = s.Contracts("etc-contracts");
  BOOST_TEST(MustStart(o)->evidence_source().kind == EvidenceSource::kSystem);
  BOOST_TEST(MustStart(o)->dispatch().q4k == "Mwv");  // the shipped records prove nothing for an A100
  o.environment->Set(kContractsVariable, s.Contracts("env-contracts"));
  BOOST_TEST(MustStart(o)->evidence_source().kind == EvidenceSource::kEnvironment);
  o.contracts_path = s.Contracts("explicit-contracts", {"a100-proves-hwdp4a.yaml"});
  auto rt = MustStart(o);
  BOOST_TEST(rt->evidence_source().kind == EvidenceSource::kExplicit);
  BOOST_TEST(rt->evidence_source().path == o.contracts_path);
  BOOST_TEST(rt->dispatch().q4k == "HwDp4a");
}

BOOST_AUTO_TEST_CASE(a_configured_folder_that_is_missing_stops_startup) {
  Scratch s;
  StartOptions o = On("a100", s);
  const std::string missing = (s.root / "no-such-contracts").string();
  o.environment->Set(kContractsVariable, missing);
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(static_cast<int>(rt.error().code) == static_cast<int>(ErrorCode::kUnreadable));
  BOOST_TEST(Has(rt.error().message, "contracts from KPOLICY_CONTRACTS=" + missing + " do not load"), rt.error().message);
  BOOST_TEST(Has(rt.error().message, missing + ": error: no such contracts folder"), rt.error().message);
  // A contracts folder without parity/ has no records folder: the same.
  const std::string no_parity = s.Contracts("no-parity");
  fs::remove_all(fs::path(no_parity) / "parity");
  o.environment->Set(kContractsVariable, no_parity);
  auto without = Runtime::Start(o);
  BOOST_REQUIRE(!without.ok());
  BOOST_TEST(Has(without.error().message, no_parity + "/parity: error: no such records folder"), without.error().message);
}

BOOST_AUTO_TEST_CASE(a_malformed_record_stops_startup_naming_file_line_and_column) {
  Scratch s;
  StartOptions o = On("a100", s);
  o.contracts_path = s.Contracts("contracts", {"malformed-record.yaml"});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(static_cast<int>(rt.error().code) == static_cast<int>(ErrorCode::kInvalidInput));
  BOOST_TEST(Has(rt.error().message, o.contracts_path + "/parity/malformed-record.yaml:13:15: error:"),
             rt.error().message);
}

// An empty records folder is "no records": nothing proves anything, and the
// trace says which contract no record proves.
BOOST_AUTO_TEST_CASE(an_empty_records_folder_proves_nothing) {
  Scratch s;
  StartOptions o = On("a100", s);
  o.contracts_path = s.Contracts("contracts", {}, /*shipped_records=*/false);
  auto rt = MustStart(o);
  BOOST_TEST(rt->evidence()->records.empty());
  BOOST_TEST(rt->dispatch().q4k == "Mwv");
  BOOST_TEST(Has(EvidenceSaid(LoggedQ4k(*rt)), "no record proves FALSIFY-CPU-GPU-008 for q4k = HwDp4a on A100"),
             EvidenceSaid(LoggedQ4k(*rt)));
}

// A rule naming a contract the folder does not define could never be
// proven; with records configured that is a startup error at the rule.
BOOST_AUTO_TEST_CASE(a_rule_asking_for_an_undefined_contract_stops_startup) {
  Scratch s;
  StartOptions o = On("a100", s);
  o.policy_path = s.Write("typo.yaml", R"(kpolicy: 1
name: typo
version: 1
extends: builtin:default
knobs:
  q4k:
    rules:
      - id: dp4a-proven
        when: has_dp4a
        value: HwDp4a
        evidence: [FALSIFY-CPU-GPU-08]
)");
  o.contracts_path = s.Contracts("contracts", {"a100-proves-hwdp4a.yaml"});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(Has(rt.error().message, o.policy_path + ":8:9: error: rule 'dp4a-proven' of knob 'q4k' asks for evidence "
                                                     "under contract FALSIFY-CPU-GPU-08, which the contracts loaded do not define"),
             rt.error().message);
}

// The gate's fallback re-evaluates with the same records: a proven HwDp4a
// that fails the gate on this host still falls back to Mwv.
BOOST_AUTO_TEST_CASE(the_gate_fallback_keeps_the_records) {
  Scratch s;
  StartOptions o = On("a100", s);
  o.contracts_path = s.Contracts("contracts", {"a100-proves-hwdp4a.yaml"});
  o.gate = [](const DispatchTable& t) {
    std::vector<GateResult> out;
    for (const GateCheck& c : GateChecksFor(t)) {
      GateResult r;
      r.knob = c.knob;
      r.value = c.kind == GateCheck::kGemv ? t.gemv_name(c.op) : "true";
      r.passed = !(r.knob == "q4k" && r.value == "HwDp4a");
      out.push_back(r);
    }
    return out;
  };
  auto rt = MustStart(o);
  BOOST_TEST(rt->dispatch().q4k == "Mwv");
  BOOST_REQUIRE(rt->fallbacks().size() == 1u);
  BOOST_TEST(Has(rt->fallbacks()[0], "q4k = HwDp4a failed"), rt->fallbacks()[0]);
  BOOST_TEST(LoggedQ4k(*rt).Find("source")->text == "gate fallback");
}

// `policyctl run` (the decoder-layer demo on the CPU here) starts the
// runtime with --contracts and says where its records came from.
BOOST_AUTO_TEST_CASE(policyctl_run_reads_the_contracts_folder) {
  Scratch s;
  const std::string dir = s.Contracts("contracts", {"a100-proves-hwdp4a.yaml"});
  const tools::CapturedRun run = tools::RunPolicyctlCaptured(
      {"run", "--contracts", dir, "--device", "a100", "--clean-env", "--tokens", "1"}, Environment());
  BOOST_TEST(run.status == 0, run.err);
  BOOST_TEST(Has(run.out, "records  explicit path " + dir), run.out);
  BOOST_TEST(Has(run.out, "q4k HwDp4a"), run.out);
  const tools::CapturedRun missing = tools::RunPolicyctlCaptured(
      {"run", "--contracts", (s.root / "none").string(), "--device", "a100", "--clean-env"}, Environment());
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(Has(missing.err, "no such contracts folder"), missing.err);
}

}  // namespace
}  // namespace kpolicy::runtime
