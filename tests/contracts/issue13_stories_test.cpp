// Issue 13's six stories as an operator meets them: each case runs policyctl
// on policy and record files (policies/, contracts/, tests/data/issue13/)
// and checks what it answers; no story needs C++ of its own. Then
// FALSIFY-CPU-GPU-009 as data: GB10's record row and the contract that
// `check` holds prefill_path (and the seed's batched_prefill) to.
// policies/README.md names each story's tests.
#define BOOST_TEST_MODULE issue13_stories
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "commands.h"
#include "kpolicy/contract.h"
#include "kpolicy/json.h"
#include "kpolicy/parity_record.h"

namespace kpolicy::tools {
namespace {

std::string Source(const std::string& relative) { return std::string(KPOLICY_SOURCE_DIR) + "/" + relative; }
std::string Data(const std::string& name) { return Source("tests/data/issue13/" + name); }
const std::string kContracts = Source("contracts");
const std::string kDefault = Source("policies/default.yaml");
const std::string kSeed = Source("policies/compat/seed.yaml");

CapturedRun Policyctl(std::vector<std::string> args) { return RunPolicyctlCaptured(args, Environment()); }

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON: " + text);
  return std::move(v).value();
}

// `policyctl eval --format json`'s value of one knob.
std::string Evaluated(const std::vector<std::string>& args, const std::string& knob) {
  std::vector<std::string> all = {"eval", "--clean-env", "--format", "json"};
  all.insert(all.end(), args.begin(), args.end());
  const CapturedRun r = Policyctl(all);
  if (r.status != 0) BOOST_FAIL("eval failed: " + r.err);
  // Kept: Find points into the parsed document (a temporary here was freed
  // before v was read: ASan in the hardening build).
  const JsonValue document = MustParse(r.out);
  const JsonValue* v = document.Find("decision")->Find(knob);
  if (!v) BOOST_FAIL("no knob " + knob + " in " + r.out);
  return v->kind == JsonValue::kBool ? (v->boolean ? "true" : "false") : v->text;
}

// Story 1: the RTX 4090 evidence fits as a reported record
// (contracts/parity/rtx4090.yaml, covering Ada) and `check` catches the
// seed's policy with it; default v2 passes.
BOOST_AUTO_TEST_CASE(story1_the_rtx4090_record_catches_the_seed) {
  const CapturedRun seed = Policyctl({"check", "--contracts", kContracts, kSeed});
  BOOST_TEST(seed.status == 1);
  BOOST_TEST(Has(seed.err, "on NVIDIA GeForce RTX 4090 (" + kContracts + "/parity/rtx4090.yaml (covers Ada (cc 8.9..8.9))"),
             seed.err);
  BOOST_TEST(Has(seed.err, "q4k = HwDp4a breaks FALSIFY-CPU-GPU-008: cosine 0.9186 on model-parity-gate, needs cosine >= 0.99"),
             seed.err);
  const CapturedRun v2 = Policyctl({"check", "--contracts", kContracts, kDefault});
  BOOST_TEST(v2.status == 0, v2.err);
}

// Story 2: the fix (q4k Mwv on every GPU, HwDp4a by HW_DP4A_Q4K or where a
// record proves it) is policies/default.yaml itself, and its default says
// why; the seed's behaviour stays in compat/seed.yaml.
BOOST_AUTO_TEST_CASE(story2_mwv_everywhere_is_an_edit_of_default_yaml_with_a_why_on_its_default) {
  for (const char* device : {"t4", "a100", "l4", "rtx4090", "h100", "gb10"}) {
    BOOST_TEST(Evaluated({"--policy", kDefault, "--device", device}, "q4k") == "Mwv", device);
    BOOST_TEST(Evaluated({"--policy", kDefault, "--device", device, "--env", "HW_DP4A_Q4K=1"}, "q4k") == "HwDp4a", device);
  }
  BOOST_TEST(Evaluated({"--policy", kSeed, "--device", "h100"}, "q4k") == "HwDp4a");
  const CapturedRun explain = Policyctl({"explain", "--policy", kDefault, "--device", "l4", "--clean-env", "--contracts",
                                         kContracts, "--color", "never"});
  BOOST_REQUIRE(explain.status == 0);
  BOOST_TEST(Has(explain.out, "why  fp32 activations keep CPU/GPU parity wherever it was measured"), explain.out);
  // The records say why the rule asking for evidence did not fire on an L4:
  // the RTX 4090's record covers Ada. (Where a record proves it, the rule
  // fires: runtime_evidence_test's startup_decides_as_explain_shows.)
  BOOST_TEST(Has(explain.out, "rtx4090.yaml (covers Ada (cc 8.9..8.9))"), explain.out);
}

// Story 3: prefill_path {serial, batched} with reasons replaces
// batched_prefill, each way of deciding it explained, and the runtime reads
// it (its startup log line names the rule).
BOOST_AUTO_TEST_CASE(story3_prefill_path_with_reasons_replaces_batched_prefill) {
  struct Case {
    const char* device;
    const char* env;
    const char* value;
    const char* why;
  } cases[] = {
      {"gb10", nullptr, "serial", "why  sm12x default: batched prefill corrupted the KV cache on GB10"},
      {"h100", nullptr, "batched", "why  default"},
      {"h100", "BATCHED_PREFILL=0", "serial", "why  env=0"},
      {"gb10", "BATCHED_PREFILL=1", "batched", "why  env forced"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--policy", kDefault, "--device", c.device};
    if (c.env) args.insert(args.end(), {"--env", c.env});
    BOOST_TEST(Evaluated(args, "prefill_path") == c.value, c.device);
    std::vector<std::string> explain = {"explain", "--clean-env", "--color", "never"};
    explain.insert(explain.end(), args.begin(), args.end());
    const CapturedRun r = Policyctl(explain);
    BOOST_TEST(Has(r.out, c.why), c.device << " " << (c.env ? c.env : "") << ":\n" << r.out);
  }
  const CapturedRun run = Policyctl({"run", "--policy", kDefault, "--device", "gb10", "--clean-env", "--tokens", "1", "--log"});
  BOOST_TEST(run.status == 0, run.err);
  BOOST_TEST(Has(run.out, "\"prefill_path\":{\"value\":\"serial\",\"source\":\"rule sm12x-serial\"}"), run.out);
}

// Story 4: FUSED_GATE_UP=1 with q4k = Mwv is refused, and said so, by eval,
// explain, check and run; with `on_fail: stop` each of them stops.
BOOST_AUTO_TEST_CASE(story4_fused_gate_up_with_mwv_is_refused_by_eval_explain_check_and_run) {
  const std::vector<std::string> forced = {"--policy", kDefault, "--device", "h100", "--clean-env", "--env", "FUSED_GATE_UP=1"};
  auto with = [&](std::vector<std::string> head, std::vector<std::string> tail = {}) {
    head.insert(head.end(), forced.begin(), forced.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return Policyctl(head);
  };
  const std::string refused = "refused: fused_gate_up = true: the fused gate+up kernel exists for the HwDp4a Q4_K path "
                              "only; took the fallback false";
  const CapturedRun eval = with({"eval"}, {"--format", "json"});
  BOOST_REQUIRE(eval.status == 0);
  const JsonValue e = MustParse(eval.out);
  BOOST_TEST(!e.Find("decision")->Find("fused_gate_up")->boolean);
  BOOST_TEST(Has(eval.out, refused), eval.out);
  const CapturedRun explain = with({"explain"}, {"--color", "never"});
  BOOST_TEST(Has(explain.out, "refused true: requires !fused_gate_up || q4k == HwDp4a"), explain.out);
  const CapturedRun check = Policyctl({"check", "--contracts", kContracts, kDefault});
  BOOST_TEST(Has(check.out, "with FUSED_GATE_UP=1, " + refused), check.out);
  const CapturedRun run = with({"run"}, {"--tokens", "1"});
  BOOST_TEST(run.status == 0, run.err);
  BOOST_TEST(Has(run.out, "fused_gate_up off"), run.out);
  BOOST_TEST(Has(run.out, "warning  " + refused), run.out);

  const std::string stop = Data("fused-gate-up-stop.yaml");
  for (const char* command : {"eval", "explain", "run"}) {
    const CapturedRun r = Policyctl({command, "--policy", stop, "--device", "h100", "--clean-env", "--env", "FUSED_GATE_UP=1"});
    BOOST_TEST(r.status == 1, command);
    BOOST_TEST(Has(r.err, "refused: fused_gate_up = true: the fused gate+up kernel exists"), command << ": " << r.err);
  }
}

// Story 5: a driver-version gate (tests/data/issue13/driver-gate.yaml) read
// through --driver, a batch line's "driver", and compared as a version.
BOOST_AUTO_TEST_CASE(story5_a_driver_gate_reads_the_driver_as_a_version) {
  const std::string gate = Data("driver-gate.yaml");
  BOOST_TEST(Evaluated({"--policy", gate, "--device", "h100", "--driver", "570.207"}, "fp8_prefill") == "false");
  BOOST_TEST(Evaluated({"--policy", gate, "--device", "h100", "--driver", "580.159.04"}, "fp8_prefill") == "true");
  // 575.10 > 575.9 as numbers (as text it would sort below).
  BOOST_TEST(Evaluated({"--policy", gate, "--device", "h100", "--driver", "575.10"}, "fp8_prefill") == "true");
  BOOST_TEST(Evaluated({"--policy", gate, "--device", "h100", "--driver", "574.99.1"}, "fp8_prefill") == "false");
  // Unknown is below every version: the gate holds when the driver is unknown.
  BOOST_TEST(Evaluated({"--policy", gate, "--device", "h100"}, "fp8_prefill") == "false");
  const CapturedRun explain = Policyctl({"explain", "--policy", gate, "--device", "h100", "--driver", "570.207",
                                         "--clean-env", "--color", "never"});
  BOOST_TEST(Has(explain.out, "[device.driver = \"570.207\"]"), explain.out);
  BOOST_TEST(Policyctl({"eval", "--policy", gate, "--device", "h100", "--driver", "r570"}).status == 2);
}

// Story 6: max_batch from free memory (tests/data/issue13/max-batch.yaml),
// clamped into its range, and passed by the runtime to the host.
BOOST_AUTO_TEST_CASE(story6_max_batch_from_free_memory_is_clamped) {
  const std::string policy = Data("max-batch.yaml");
  for (auto [free, want] : {std::pair{"0", "1"}, {"4096", "8"}, {"200000", "64"}}) {
    BOOST_TEST(Evaluated({"--policy", policy, "--device", "h100", "--memory-free", free}, "max_batch") == want, free);
  }
  const CapturedRun run = Policyctl({"run", "--policy", policy, "--device", "h100", "--clean-env", "--tokens", "1", "--log"});
  BOOST_TEST(run.status == 0, run.err);
  // A catalog device: free memory unknown (0), so the clamp gives 1.
  BOOST_TEST(Has(run.out, "\"host_knobs\":{\"cc\":\"90\",\"max_batch\":\"1\"}"), run.out);
}

// ---- FALSIFY-CPU-GPU-009 as data ---------------------------------------------

BOOST_AUTO_TEST_CASE(falsify_009_a_policy_prefilling_batched_on_gb10_fails_check) {
  const CapturedRun batched = Policyctl({"check", "--contracts", kContracts, Data("batched-prefill-everywhere.yaml")});
  BOOST_TEST(batched.status == 1);
  BOOST_TEST(Has(batched.err, "on NVIDIA GB10 (" + kContracts + "/parity/gb10.yaml): prefill_path = batched breaks "
                              "FALSIFY-CPU-GPU-009: corrupted 1 on prefill-then-decode, needs corrupted <= 0"),
             batched.err);
  // The seed spells the switch batched_prefill: the contract's alias holds it too.
  const CapturedRun seed = Policyctl({"check", "--contracts", kContracts, kSeed});
  BOOST_TEST(seed.status == 1);
  BOOST_TEST(Has(seed.err, "batched_prefill = true (batched) breaks FALSIFY-CPU-GPU-009: corrupted 1"), seed.err);
  // Default v2 prefills serially on GB10, which the record shows intact;
  // BATCHED_PREFILL=1 there is a warning.
  const CapturedRun v2 = Policyctl({"check", "--contracts", kContracts, "-v", kDefault});
  BOOST_TEST(v2.status == 0, v2.err);
  BOOST_TEST(Has(v2.out, "ok   prefill_path = serial meets FALSIFY-CPU-GPU-009: corrupted 0 on prefill-then-decode"), v2.out);
  BOOST_TEST(Has(v2.out, "warn with BATCHED_PREFILL=1, prefill_path = batched breaks FALSIFY-CPU-GPU-009"), v2.out);
}

BOOST_AUTO_TEST_CASE(falsify_009_aliases_and_corrupted_are_checked_at_load) {
  auto contracts = LoadContractFile(Data("bad-alias-contracts.yaml"));
  BOOST_REQUIRE(!contracts.ok());
  const std::string errors = contracts.error().ToString();
  BOOST_TEST(Has(errors, Data("bad-alias-contracts.yaml") + ":7:9: error: an alias maps its knob's values to record variants"),
             errors);
  BOOST_TEST(Has(errors, Data("bad-alias-contracts.yaml") + ":14:16: error: contract ALIAS-OF-ITSELF already constrains knob 'prefill_path'"),
             errors);
  auto record = LoadParityRecord(Data("bad-corrupted-record.yaml"));
  BOOST_REQUIRE(!record.ok());
  BOOST_TEST(Has(record.error().ToString(), Data("bad-corrupted-record.yaml") + ":9:26: error: 'corrupted' is 2; it must "
                                                 "be a number in [0, 1]"),
             record.error().ToString());
  // The shipped contract maps the seed's values onto the record's variants.
  auto shipped = LoadContractFile(Source("contracts/cpu-gpu-parity.yaml"));
  BOOST_REQUIRE(shipped.ok());
  for (const Contract& c : *shipped) {
    if (c.id != "FALSIFY-CPU-GPU-009") continue;
    BOOST_TEST(c.Constrains("batched_prefill"));
    BOOST_TEST(c.VariantOf("batched_prefill", "true") == "batched");
    BOOST_TEST(c.VariantOf("prefill_path", "serial") == "serial");
    BOOST_TEST(!c.Constrains("q4k"));
  }
}

}  // namespace
}  // namespace kpolicy::tools
