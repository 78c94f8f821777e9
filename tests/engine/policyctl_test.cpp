// policyctl's fixed interface: commands, flags, exit statuses, JSON shapes.
// Runs the commands in-process with captured streams.
#define BOOST_TEST_MODULE policyctl
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "commands.h"
#include "kpolicy/json.h"
#include "kpolicy/limits.h"
#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::tools {
namespace {

namespace fs = std::filesystem;

using Run = CapturedRun;

Run Policyctl(const std::vector<std::string>& args, Environment process_env = {}) {
  return RunPolicyctlCaptured(args, std::move(process_env));
}

std::string Source(const std::string& relative) { return std::string(KPOLICY_SOURCE_DIR) + "/" + relative; }

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text, const std::string& ext = ".yaml") {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-ctl-" + std::to_string(rd()) + ext);
    std::ofstream(path) << text;
  }
  ~TempFile() { fs::remove(path); }
};

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON (" + v.error().message + "): " + text);
  return std::move(v).value();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

BOOST_AUTO_TEST_SUITE(validate)

BOOST_AUTO_TEST_CASE(valid_files_exit_0) {
  Run r = Policyctl({"validate", Source("policies/default.yaml"), Source("policies/fleets/locked-kernels.yaml")});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out.find("default.yaml: ok (default 2026.12.0, 11 knobs") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(invalid_file_exits_1_with_file_line_column) {
  TempFile bad("kpolicy: 1\nname: x\nversion: 1\nknobs:\n  k:\n    type: bool\n    default: maybe\n");
  Run r = Policyctl({"validate", bad.path.string()});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find(bad.path.string() + ":7:14: error: unknown name 'maybe'") == 0u, r.err);
}

BOOST_AUTO_TEST_CASE(unreadable_file_exits_2_even_beside_an_invalid_one) {
  TempFile bad("kpolicy: 2\n");
  Run r = Policyctl({"validate", bad.path.string(), "/nonexistent/policy.yaml"});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("/nonexistent/policy.yaml: error: cannot open") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(no_file_is_a_usage_error) {
  BOOST_TEST(Policyctl({"validate"}).status == 2);
  BOOST_TEST(Policyctl({"validate", "--bogus"}).status == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval)

BOOST_AUTO_TEST_CASE(json_decision_maps_every_knob_to_a_typed_value) {
  Run r = Policyctl({"eval", "--policy", "builtin:seed", "--device", "h100", "--format", "json", "--clean-env"});
  BOOST_REQUIRE(r.status == 0);
  const JsonValue v = MustParse(r.out);
  const JsonValue* d = v.Find("decision");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->members.size() == 11u);
  BOOST_TEST(d->Find("q4k")->text == "HwDp4a");
  BOOST_TEST(d->Find("q4k")->kind == JsonValue::kString);
  BOOST_TEST(d->Find("cc")->kind == JsonValue::kNumber);
  BOOST_TEST(d->Find("cc")->text == "90");
  BOOST_TEST(d->Find("mwv_warps")->text == "3");
  BOOST_TEST(d->Find("sm_target")->text == "sm_90");
  BOOST_TEST(d->Find("fp8_prefill")->kind == JsonValue::kBool);
  BOOST_TEST(d->Find("fp8_prefill")->boolean);
  BOOST_TEST(d->Find("hgemm_decode")->boolean == false);
}

BOOST_AUTO_TEST_CASE(cc_and_sms_describe_an_uncatalogued_device) {
  Run r = Policyctl({"eval", "--cc", "12.1", "--sms", "48", "--format", "json", "--clean-env"});
  BOOST_REQUIRE(r.status == 0);
  const JsonValue v = MustParse(r.out);
  BOOST_TEST(v.Find("decision")->Find("q4k")->text == "Mwv");
  BOOST_TEST(v.Find("device")->Find("num_sms")->text == "48");
}

BOOST_AUTO_TEST_CASE(process_environment_applies_unless_clean_env) {
  Environment host;
  host.Set("HW_DP4A_Q4K", "1");
  Run with_host = Policyctl({"eval", "--device", "gb10", "--format", "json"}, host);
  BOOST_TEST(MustParse(with_host.out).Find("decision")->Find("q4k")->text == "HwDp4a");
  Run clean = Policyctl({"eval", "--device", "gb10", "--format", "json", "--clean-env"}, host);
  BOOST_TEST(MustParse(clean.out).Find("decision")->Find("q4k")->text == "Mwv");
  Run added = Policyctl({"eval", "--device", "gb10", "--format", "json", "--clean-env", "--env", "DP4A_Q4K=0"}, host);
  BOOST_TEST(MustParse(added.out).Find("decision")->Find("q4k")->text == "MwvDp4a");
}

BOOST_AUTO_TEST_CASE(misspelt_variable_is_warned_about) {
  Run r = Policyctl({"eval", "--device", "h100", "--clean-env", "--env", "HW_DP4A_Q4=1"});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out.find("HW_DP4A_Q4 is set but the policy does not read it; did you mean HW_DP4A_Q4K?") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  BOOST_TEST(Policyctl({"eval", "--device", "h1000"}).err.find("did you mean 'h100'") != std::string::npos);
  BOOST_TEST(Policyctl({"eval", "--device", "h1000"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--device", "h100", "--cc", "9.0"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--cc", "nine"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--sms", "10"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--device", "h100", "--format", "xml"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--device", "h100", "--env", "NOEQUALS"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--device", "h100", "--policy", "/nonexistent.yaml"}).status == 2);
  BOOST_TEST(Policyctl({"frobnicate"}).status == 2);
  BOOST_TEST(Policyctl({}).status == 2);
}

BOOST_AUTO_TEST_CASE(invalid_policy_exits_1) {
  TempFile bad("kpolicy: 1\nname: x\nversion: 1\nknobs: {}\n\nwat: 1\n");
  Run r = Policyctl({"eval", "--device", "h100", "--policy", bad.path.string()});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find(":6:1: error: unknown key 'wat'") != std::string::npos, r.err);
}

// A host without a GPU, stood in for (DeviceProbe::Fixed) so that the
// check runs on a machine with one too.
BOOST_AUTO_TEST_CASE(no_device_and_no_gpu_says_what_to_pass) {
  const runtime::DeviceProbe no_gpu = runtime::DeviceProbe::Fixed({});
  Run r = RunPolicyctlCaptured({"eval"}, Environment(), no_gpu);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("pass --device NAME") != std::string::npos, r.err);
  Run fallback = RunPolicyctlCaptured({"explain", "--fallback-device", "h100", "--clean-env"}, Environment(), no_gpu);
  BOOST_TEST(fallback.status == 0);
  BOOST_TEST(fallback.out.find("catalog entry h100 (no local GPU") != std::string::npos, fallback.out);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(batch)

BOOST_AUTO_TEST_CASE(one_line_out_per_line_in_in_order) {
  TempFile cases(
      "{\"cc\":\"12.1\",\"sms\":48,\"env\":{\"FP8_PREFILL\":\"0\"}}\n"
      "{\"cc\":\"7.0\"}\n"
      "not json\n"
      "{\"cc\":\"9.0\",\"env\":{\"MWV_WARPS\":\"64\"}}\n"
      "{\"ccc\":\"9.0\"}\n"
      "{\"device\":\"t4\"}\n",
      ".jsonl");
  Environment host;
  host.Set("WIDE_Q4K_DISABLE", "1");  // must not leak into any case
  Run r = Policyctl({"eval", "--policy", "builtin:seed", "--batch", cases.path.string()}, host);
  BOOST_TEST(r.status == 1);  // two cases failed
  const std::vector<std::string> lines = Lines(r.out);
  BOOST_REQUIRE(lines.size() == 6u);
  const JsonValue gb10 = MustParse(lines[0]);
  BOOST_TEST(gb10.members.size() == 1u);
  BOOST_TEST(gb10.Find("decision")->Find("q4k")->text == "Mwv");
  BOOST_TEST(gb10.Find("decision")->Find("fp8_prefill")->boolean == false);
  BOOST_TEST(gb10.Find("decision")->Find("fp8_decode")->boolean == false);
  BOOST_TEST(MustParse(lines[1]).Find("decision")->Find("q4k")->text == "Mwv");
  BOOST_TEST(MustParse(lines[2]).Find("error")->text.find("line 3: not JSON") == 0u);
  BOOST_TEST(MustParse(lines[3]).Find("decision")->Find("mwv_warps")->text == "3");
  BOOST_TEST(MustParse(lines[4]).Find("error")->text.find("unknown key 'ccc' (did you mean 'cc'?)") != std::string::npos);
  BOOST_TEST(MustParse(lines[5]).Find("decision")->Find("q4k")->text == "HwDp4a");
}

BOOST_AUTO_TEST_CASE(batch_takes_no_device_or_environment_flags) {
  TempFile cases("{\"cc\":\"9.0\"}\n", ".jsonl");
  BOOST_TEST(Policyctl({"eval", "--batch", cases.path.string(), "--device", "h100"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--batch", cases.path.string(), "--env", "A=1"}).status == 2);
  BOOST_TEST(Policyctl({"eval", "--batch", "/nonexistent.jsonl"}).status == 2);
  Run ok = Policyctl({"eval", "--batch", cases.path.string()});
  BOOST_TEST(ok.status == 0);
  BOOST_TEST(Lines(ok.out).size() == 1u);
}

BOOST_AUTO_TEST_CASE(json_nesting_limit_is_exact) {
  // limits::kJsonDepth containers nest; one more is refused at its bracket.
  const auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  BOOST_TEST(ParseJson(nested(limits::kJsonDepth)).ok());
  auto past = ParseJson(nested(limits::kJsonDepth + 1));
  BOOST_TEST_REQUIRE(!past.ok());
  BOOST_TEST(past.error().message == "column " + std::to_string(limits::kJsonDepth + 1) + ": nesting deeper than " +
                                         std::to_string(limits::kJsonDepth) + " levels");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(explain)

BOOST_AUTO_TEST_CASE(text_names_rule_condition_values_and_rules_tried) {
  Run r = Policyctl({"explain", "--policy", "builtin:seed", "--device", "h100", "--clean-env"});
  BOOST_REQUIRE(r.status == 0);
  BOOST_TEST(r.out.find("policy  seed 2026.11.0") != std::string::npos);
  BOOST_TEST(r.out.find("from catalog entry h100") != std::string::npos);
  BOOST_TEST(r.out.find("q4k = HwDp4a   (rule dp4a)") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("✗ rule    blackwell-mwv: device.cc >= 120   [device.cc = 90]") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("✓ rule    dp4a: has_dp4a   [has_dp4a = true]") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("\033[") == std::string::npos);  // not a terminal: no colours
}

BOOST_AUTO_TEST_CASE(json_trace_of_an_override) {
  Run r = Policyctl({"explain", "--device", "gb10", "--clean-env", "--env", "HW_DP4A_Q4K=0", "--format", "json"});
  BOOST_REQUIRE(r.status == 0);
  const JsonValue v = MustParse(r.out);
  const JsonValue* knobs = v.Find("knobs");
  BOOST_REQUIRE(knobs);
  const JsonValue* q4k = nullptr;
  for (const JsonValue& k : knobs->items) {
    if (k.Find("name")->text == "q4k") q4k = &k;
  }
  BOOST_REQUIRE(q4k);
  BOOST_TEST(q4k->Find("value")->text == "HwDp4a");
  const JsonValue* by = q4k->Find("decided_by");
  BOOST_TEST(by->Find("kind")->text == "env");
  BOOST_TEST(by->Find("var")->text == "HW_DP4A_Q4K");
  BOOST_TEST(by->Find("value")->text == "0");
  BOOST_TEST(by->Find("presence_only")->boolean);
  BOOST_TEST(v.Find("environment")->Find("set")->Find("HW_DP4A_Q4K")->text == "0");
  BOOST_REQUIRE(v.Find("warnings")->items.size() == 1u);
  BOOST_TEST(v.Find("warnings")->items[0].text.find("counts as set") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(devices_lists_the_catalog) {
  Run text = Policyctl({"devices"});
  BOOST_TEST(text.status == 0);
  BOOST_TEST(Lines(text.out).size() >= 15u);  // header + 14 GPUs at least
  Run json = Policyctl({"devices", "--format", "json"});
  const JsonValue v = MustParse(json.out);
  BOOST_TEST(v.items.size() >= 14u);
  BOOST_TEST(v.items[0].Find("key")->text == "k80");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(check_v2)

std::string Source(const std::string& rel) { return std::string(KPOLICY_SOURCE_DIR) + "/" + rel; }

BOOST_AUTO_TEST_CASE(check_takes_positional_policies_and_strict_fails_on_unproven) {
  const std::string contracts = Source("contracts");
  Run seed = Policyctl({"check", "--contracts", contracts, Source("policies/compat/seed.yaml")});
  BOOST_TEST(seed.status == 1);  // the RTX 4090 record breaks its HwDp4a
  BOOST_TEST(seed.out.find("seed 2026.11.0") != std::string::npos);
  Run v2 = Policyctl({"check", "--contracts", contracts, Source("policies/default.yaml")});
  BOOST_TEST(v2.status == 0, v2.err);
  BOOST_TEST(v2.out.find("refused") != std::string::npos);  // FUSED_GATE_UP=1 with Mwv
  BOOST_TEST(Policyctl({"check", "--strict", "--contracts", contracts, Source("policies/default.yaml")}).status == 1);
}

BOOST_AUTO_TEST_CASE(missing_records_and_contracts_folders_give_the_same_status) {
  const int no_contracts = Policyctl({"check", "--contracts", "/nonexistent-contracts"}).status;
  const int no_records = Policyctl({"check", "--contracts", Source("contracts"), "--records", "/nonexistent-records"}).status;
  BOOST_TEST(no_contracts == 2);
  BOOST_TEST(no_records == no_contracts);
}

BOOST_AUTO_TEST_CASE(explain_strict_exits_1_on_failing_evidence_and_driver_flags_are_facts) {
  const std::string contracts = Source("contracts");
  Run forced = Policyctl({"explain", "--contracts", contracts, "--device", "rtx4090", "--clean-env", "--env",
                          "HW_DP4A_Q4K=1", "--strict"});
  BOOST_TEST(forced.status == 1);
  BOOST_TEST(forced.out.find("breaks FALSIFY-CPU-GPU-008") != std::string::npos, forced.out);
  Run json = Policyctl({"eval", "--device", "h100", "--driver", "570.207", "--cuda-runtime", "13.0", "--clean-env",
                        "--format", "json"});
  BOOST_REQUIRE(json.status == 0);
  BOOST_TEST(MustParse(json.out).Find("device")->Find("driver")->text == "570.207");
  BOOST_TEST(Policyctl({"eval", "--device", "h100", "--driver", "r570"}).status == 2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace kpolicy::tools
