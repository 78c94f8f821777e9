// Every GPU of a host: eval, explain and run without a device decide for
// each local GPU, on hosts the test machine does not have (DeviceProbe::Fixed:
// an H100 and an L4, two H100s, one H100, none).
#define BOOST_TEST_MODULE local_gpus
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "commands.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/json.h"

namespace kpolicy::tools {
namespace {

namespace fs = std::filesystem;

DeviceFacts Catalog(const char* key) { return FindCatalogDevice(key)->ToFacts(); }

runtime::DeviceProbe Host(std::vector<DeviceFacts> gpus) { return runtime::DeviceProbe::Fixed(std::move(gpus)); }

CapturedRun OnHost(std::vector<std::string> args, std::vector<DeviceFacts> gpus) {
  args.push_back("--clean-env");
  return RunPolicyctlCaptured(args, Environment(), Host(std::move(gpus)));
}

// What policyctl says for one catalog device named with --device.
CapturedRun ForDevice(std::vector<std::string> args, const char* key) {
  args.insert(args.end(), {"--device", key, "--clean-env"});
  return RunPolicyctlCaptured(args);
}

JsonValue MustParse(const std::string& text) {
  auto v = ParseJson(text);
  if (!v.ok()) BOOST_FAIL("not JSON (" + v.error().message + "): " + text.substr(0, 300));
  return std::move(v).value();
}

// A decision object as "knob=value;..." in order, to compare two of them.
std::string Flat(const JsonValue& decision) {
  std::string out;
  for (const auto& [knob, value] : decision.members) {
    out += knob + "=" + (value.kind == JsonValue::kBool ? (value.boolean ? "true" : "false") : value.text) + ";";
  }
  return out;
}

std::string DecisionOf(const char* key) {
  const CapturedRun one = ForDevice({"eval", "--format", "json"}, key);
  BOOST_REQUIRE_EQUAL(one.status, 0);
  return Flat(*MustParse(one.out).Find("decision"));
}

BOOST_AUTO_TEST_SUITE(eval)

BOOST_AUTO_TEST_CASE(one_gpu_keeps_the_fixed_single_device_shape) {
  const CapturedRun local = OnHost({"eval", "--format", "json"}, {Catalog("h100")});
  BOOST_REQUIRE_EQUAL(local.status, 0);
  const JsonValue json = MustParse(local.out);
  BOOST_TEST(json.Find("decision"));
  BOOST_TEST(!json.Find("devices"));
  BOOST_TEST(!json.Find("ordinal"));
  // Byte for byte what the same GPU named from the catalog gives.
  BOOST_TEST(local.out == ForDevice({"eval", "--format", "json"}, "h100").out);
}

BOOST_AUTO_TEST_CASE(a_mixed_host_has_a_decision_per_gpu_and_no_host_decision) {
  const CapturedRun run = OnHost({"eval", "--format", "json"}, {Catalog("h100"), Catalog("l4")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  BOOST_TEST(run.out.find('\n') == run.out.size() - 1);  // eval's JSON is one line, as with one GPU
  const JsonValue json = MustParse(run.out);
  // The two GPUs disagree (sm_target sm_90 / sm_89): the host has no one
  // answer, so a script reading .decision finds none rather than GPU 0's.
  BOOST_TEST(!json.Find("decision"));
  const JsonValue* devices = json.Find("devices");
  BOOST_REQUIRE(devices);
  BOOST_REQUIRE(devices->items.size() == 2u);
  const char* keys[] = {"h100", "l4"};
  for (size_t i = 0; i < 2; ++i) {
    const JsonValue& gpu = devices->items[i];
    BOOST_TEST(gpu.Find("ordinal")->text == std::to_string(i));
    BOOST_TEST(gpu.Find("device")->Find("name")->text == Catalog(keys[i]).name);
    BOOST_TEST(Flat(*gpu.Find("decision")) == DecisionOf(keys[i]));
  }
  BOOST_TEST(Flat(*devices->items[0].Find("decision")).find("sm_target=sm_90;") != std::string::npos);
  BOOST_TEST(Flat(*devices->items[1].Find("decision")).find("sm_target=sm_89;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_host_of_identical_gpus_has_the_host_decision_too) {
  const CapturedRun run = OnHost({"eval", "--format", "json"}, {Catalog("h100"), Catalog("h100")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  const JsonValue json = MustParse(run.out);
  BOOST_REQUIRE(json.Find("decision"));
  BOOST_TEST(Flat(*json.Find("decision")) == DecisionOf("h100"));
  BOOST_REQUIRE(json.Find("devices")->items.size() == 2u);
  for (const JsonValue& gpu : json.Find("devices")->items) BOOST_TEST(Flat(*gpu.Find("decision")) == DecisionOf("h100"));
}

BOOST_AUTO_TEST_CASE(text_has_a_section_per_gpu) {
  const CapturedRun run = OnHost({"eval"}, {Catalog("h100"), Catalog("l4")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  const std::string expected = "GPU 0 of 2: " + Catalog("h100").name + ", cc 9.0\n" + ForDevice({"eval"}, "h100").out +
                               "\nGPU 1 of 2: " + Catalog("l4").name + ", cc 8.9\n" + ForDevice({"eval"}, "l4").out;
  BOOST_TEST(run.out == expected);
}

BOOST_AUTO_TEST_CASE(a_device_flag_decides_for_that_device_alone) {
  CapturedRun run = RunPolicyctlCaptured({"eval", "--device", "l4", "--clean-env", "--format", "json"}, Environment(),
                                         Host({Catalog("h100"), Catalog("h100")}));
  BOOST_REQUIRE_EQUAL(run.status, 0);
  BOOST_TEST(!MustParse(run.out).Find("devices"));
  BOOST_TEST(Flat(*MustParse(run.out).Find("decision")) == DecisionOf("l4"));
}

BOOST_AUTO_TEST_CASE(no_gpu_says_what_to_pass_or_takes_the_fallback_device) {
  const CapturedRun none = OnHost({"eval"}, {});
  BOOST_TEST(none.status == 2);
  BOOST_TEST(none.err.find("pass --device NAME") != std::string::npos, none.err);
  const CapturedRun fallback = OnHost({"eval", "--fallback-device", "l4", "--format", "json"}, {});
  BOOST_REQUIRE_EQUAL(fallback.status, 0);
  BOOST_TEST(Flat(*MustParse(fallback.out).Find("decision")) == DecisionOf("l4"));
}

// A policy that cannot be decided on one GPU of the host (a division by
// zero at cc 8.9 only): the host gets no answer, and the GPU is named.
BOOST_AUTO_TEST_CASE(a_gpu_that_cannot_be_decided_fails_the_host_and_is_named) {
  std::random_device rd;
  const fs::path file = fs::temp_directory_path() / ("kpolicy-gpus-" + std::to_string(rd()) + ".yaml");
  std::ofstream(file) << "kpolicy: 1\nname: l4-breaks\nversion: 1\nextends: builtin:default\n"
                         "knobs:\n  probe:\n    type: int\n    default: 100 / (device.cc - 89)\n";
  const CapturedRun run = OnHost({"eval", "--policy", file.string()}, {Catalog("h100"), Catalog("l4")});
  fs::remove(file);
  BOOST_TEST(run.status == 1);
  BOOST_TEST(run.out.empty(), run.out);  // whole or nothing: no half a host
  BOOST_TEST(run.err.find("GPU 1 (" + Catalog("l4").name + "): ") == 0u, run.err);
  BOOST_TEST(run.err.find("GPU 0") == std::string::npos, run.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(explain)

BOOST_AUTO_TEST_CASE(json_has_each_gpus_trace_with_its_ordinal) {
  const CapturedRun run = OnHost({"explain", "--format", "json", "--contracts", std::string(KPOLICY_SOURCE_DIR) + "/contracts"},
                                 {Catalog("h100"), Catalog("l4")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  const JsonValue json = MustParse(run.out);
  const JsonValue* devices = json.Find("devices");
  BOOST_REQUIRE(devices);
  BOOST_REQUIRE(devices->items.size() == 2u);
  for (size_t i = 0; i < 2; ++i) {
    const JsonValue& gpu = devices->items[i];
    BOOST_TEST(gpu.Find("ordinal")->text == std::to_string(i));
    BOOST_TEST(gpu.Find("knobs")->items.size() == gpu.Find("decision")->members.size());
  }
  // Pretty-printed like one GPU's explain: each GPU's members sit two levels in.
  BOOST_TEST(run.out.find("\n  \"devices\": [\n    {\n      \"ordinal\": 0,") != std::string::npos, run.out.substr(0, 200));
}

BOOST_AUTO_TEST_CASE(text_has_a_section_per_gpu_with_its_trace) {
  const CapturedRun run = OnHost({"explain"}, {Catalog("h100"), Catalog("l4")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  const size_t second = run.out.find("\nGPU 1 of 2: " + Catalog("l4").name + ", cc 8.9\n");
  BOOST_TEST(run.out.find("GPU 0 of 2: " + Catalog("h100").name + ", cc 9.0\n") == 0u);
  BOOST_REQUIRE(second != std::string::npos);
  BOOST_TEST(run.out.substr(second + 1).find("device  " + Catalog("l4").name) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run)

// The runtime starts for every GPU and says so, one device line and one log
// line each; the demo runs GPU 0's decision (on the CPU here: the fixed
// list's GPUs are not real).
BOOST_AUTO_TEST_CASE(run_starts_every_gpu_and_logs_each) {
  const CapturedRun run = OnHost({"run", "--layers", "1", "--tokens", "1", "--log"}, {Catalog("h100"), Catalog("l4")});
  BOOST_REQUIRE_EQUAL(run.status, 0);
  BOOST_TEST(run.out.find("device   GPU 0: " + Catalog("h100").name + ": cc 9.0") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("device   GPU 1: " + Catalog("l4").name + ": cc 8.9") != std::string::npos, run.out);
  size_t logs = 0;
  for (size_t at = run.out.find("\nlog      "); at != std::string::npos; at = run.out.find("\nlog      ", at + 1)) {
    const size_t start = at + 10;
    const JsonValue line = MustParse(run.out.substr(start, run.out.find('\n', start) - start));
    BOOST_TEST(line.Find("ordinal")->text == std::to_string(logs));
    ++logs;
  }
  BOOST_TEST(logs == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy::tools
