// The runtime on a fake device (no GPU needed): policy resolution order,
// fail-closed startup, dispatch checks, the gate's fallback and the log line.
#define BOOST_TEST_MODULE runtime
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/runtime/decoder_layers.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::runtime {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kpolicy-runtime-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

const char* kOneKnob = R"(kpolicy: 1
name: NAME
version: 1
extends: builtin:default
)";

std::string Named(const std::string& name) {
  std::string text = kOneKnob;
  text.replace(text.find("NAME"), 4, name);
  return text;
}

StartOptions OnH100(const TempDir& dir) {
  StartOptions o;
  o.environment = Environment();
  o.device = FindCatalogDevice("h100")->ToFacts();
  o.system_policy_path = (dir.path / "etc-policy.yaml").string();  // absent unless written
  return o;
}

std::unique_ptr<Runtime> MustStart(const StartOptions& o) {
  auto rt = Runtime::Start(o);
  if (!rt.ok()) BOOST_FAIL("startup failed: " + rt.error().message);
  return std::move(rt).value();
}

// A gate that fails the named knobs' current variants and passes the rest.
GateRunner FailingGate(std::vector<std::pair<std::string, std::string>> failing) {
  return [failing](const DispatchTable& t) {
    std::vector<GateResult> out;
    for (const auto& [knob, variant] : {std::pair{std::string("q4k"), t.q4k}, std::pair{std::string("q6k"), t.q6k}}) {
      GateResult r{knob, variant, true, 1e-7, 0.999, 0, ""};
      for (const auto& f : failing) {
        if (f.first == knob && f.second == variant) {
          r.passed = false;
          r.detail = "the GPU does not compute the variant's arithmetic";
          r.error_vs_cpu = 0.5;
        }
      }
      out.push_back(r);
    }
    return out;
  };
}

BOOST_AUTO_TEST_SUITE(resolution)

BOOST_AUTO_TEST_CASE(builtin_default_when_nothing_is_configured) {
  TempDir dir;
  auto rt = MustStart(OnH100(dir));
  BOOST_TEST(rt->source().kind == PolicySource::kBuiltin);
  BOOST_TEST(rt->policy().name == "default");
  BOOST_TEST(rt->log_line().find("compiled-in default (no policy configured)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(explicit_beats_environment_beats_system) {
  TempDir dir;
  const std::string explicit_path = dir.Write("explicit.yaml", Named("explicit"));
  const std::string env_path = dir.Write("env.yaml", Named("from-env"));
  StartOptions o = OnH100(dir);
  dir.Write("etc-policy.yaml", Named("system"));
  BOOST_TEST(MustStart(o)->policy().name == "system");
  BOOST_TEST(MustStart(o)->source().kind == PolicySource::kSystem);
  o.environment->Set("KPOLICY_FILE", env_path);
  BOOST_TEST(MustStart(o)->policy().name == "from-env");
  BOOST_TEST(MustStart(o)->source().kind == PolicySource::kEnvironment);
  o.policy_path = explicit_path;
  BOOST_TEST(MustStart(o)->policy().name == "explicit");
  BOOST_TEST(MustStart(o)->source().kind == PolicySource::kExplicit);
}

BOOST_AUTO_TEST_CASE(a_configured_policy_that_does_not_load_stops_startup) {
  TempDir dir;
  const std::string broken = dir.Write("broken.yaml", "kpolicy: 1\nname: b\nversion: 1\nknobs:\n  q4k: {type: bool, default: maybe}\n");
  for (int source = 0; source < 3; ++source) {
    StartOptions o = OnH100(dir);
    if (source == 0) o.policy_path = broken;
    if (source == 1) o.environment->Set("KPOLICY_FILE", broken);
    if (source == 2) dir.Write("etc-policy.yaml", "kpolicy: 1\nname: b\nversion: 1\nknobs:\n  q4k: {type: bool, default: maybe}\n");
    auto rt = Runtime::Start(o);
    BOOST_REQUIRE(!rt.ok());
    BOOST_TEST(rt.error().message.find(":5:30: error: unknown name 'maybe'") != std::string::npos, rt.error().message);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_configured_file_is_not_replaced_by_the_default) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.environment->Set("KPOLICY_FILE", (dir.path / "missing.yaml").string());
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("KPOLICY_FILE=") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find("cannot open") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(cpu_path_on_a_device_that_is_not_there_says_so) {
  TempDir dir;
  auto rt = MustStart(OnH100(dir));
  BOOST_TEST(!rt->dispatch().gpu);
  BOOST_TEST(!rt->cpu_only_reason().empty());
  BOOST_TEST(rt->dispatch().q4k == "HwDp4a");
  BOOST_TEST(rt->dispatch().q6k == "HwDp4a");
  BOOST_TEST(rt->dispatch().fused_gate_up);
  BOOST_TEST(rt->dispatch().mwv_warps == 3);
  BOOST_TEST(rt->gate_results().empty());
}

BOOST_AUTO_TEST_CASE(fused_gate_up_without_its_kernel_is_a_startup_error) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.environment->Set("FUSED_GATE_UP", "1");
  o.environment->Set("WIDE_Q4K", "1");
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("fused_gate_up = true needs q4k = HwDp4a") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find("q4k = Wide") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_policy_without_a_runtime_knob_is_a_startup_error) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("small.yaml", "kpolicy: 1\nname: small\nversion: 1\nknobs:\n  q4k: {type: {enum: [Mwv]}, default: Mwv}\n");
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("does not decide 'q6k', 'mwv_warps'") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(paths_the_gpu_cannot_run_are_refused) {
  auto policy = LoadPolicyText(R"(kpolicy: 1
name: x
version: 1
extends: builtin:default
)", "x.yaml");
  BOOST_REQUIRE(policy.ok());
  Environment env;
  env.Set("FP8_PREFILL", "1");
  auto d = Evaluate(*policy, FindCatalogDevice("a100")->ToFacts(), env);
  BOOST_REQUIRE(d.ok());
  auto table = BuildDispatch(*d, Capabilities{true, 80, ""});
  BOOST_REQUIRE(!table.ok());
  BOOST_TEST(table.error() == "fp8_prefill = true needs FP8 tensor cores (compute capability 8.9+); this GPU is 8.0");
  // On the CPU path the same decision is fine: the CPU computes everything.
  BOOST_TEST(BuildDispatch(*d, Capabilities{false, 80, "no GPU"}).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parity_gate)

BOOST_AUTO_TEST_CASE(a_failed_knob_falls_back_and_its_dependents_follow) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.gate = FailingGate({{"q4k", "HwDp4a"}});
  auto rt = MustStart(o);
  const Decision& d = rt->decision();
  const Knob& q4k = *rt->policy().FindKnob("q4k");
  BOOST_TEST(d.ValueText(q4k) == "Mwv");
  BOOST_TEST(rt->dispatch().q4k == "Mwv");
  // fused_gate_up's default reads q4k: with q4k pinned to Mwv it is off.
  BOOST_TEST(!rt->dispatch().fused_gate_up);
  const KnobTrace& t = d.knobs[&q4k - rt->policy().knobs.data()];
  BOOST_TEST(t.decided_by == KnobTrace::kPinned);
  BOOST_TEST(t.pin_reason.find("parity gate: HwDp4a failed") == 0u, t.pin_reason);
  BOOST_TEST(t.pin_reason.find("fell back to Mwv") != std::string::npos, t.pin_reason);
  // The second round re-ran the gate on the fallback, which passed.
  BOOST_REQUIRE(rt->gate_results().size() == 2u);
  BOOST_TEST(rt->gate_results()[0].variant == "Mwv");
  BOOST_TEST(rt->gate_results()[0].passed);
  BOOST_TEST(rt->log_line().find("\"fallbacks\":[\"q4k: parity gate: HwDp4a failed") != std::string::npos, rt->log_line());
}

BOOST_AUTO_TEST_CASE(a_fallback_that_fails_too_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.gate = FailingGate({{"q6k", "HwDp4a"}, {"q6k", "Mwv"}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("q6k = Mwv FAILED") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find("its fallback failed too") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_policy_can_make_a_failed_gate_fatal) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("fatal.yaml", std::string(kOneKnob).replace(std::string(kOneKnob).find("NAME"), 4, "strict") +
                                             "on_gate_failure: fatal\n");
  o.gate = FailingGate({{"q4k", "HwDp4a"}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("on_gate_failure: fatal") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_knob_without_a_fallback_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("nofallback.yaml", R"(kpolicy: 1
name: nofallback
version: 1
extends: builtin:default
knobs:
  extra:
    type: bool
    default: true
)");
  // The overlay keeps the base's fallbacks; take q6k's away by failing a
  // variant the fallback itself is.
  o.gate = FailingGate({{"q4k", "HwDp4a"}, {"q4k", "Mwv"}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("q4k = Mwv FAILED") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_log_line_is_one_json_object_with_every_knob) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.gate = FailingGate({});
  auto rt = MustStart(o);
  BOOST_TEST(rt->log_line().find('\n') == std::string::npos);
  auto json = ParseJson(rt->log_line());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(json->Find("event")->text == "kpolicy.startup");
  BOOST_TEST(json->Find("policy")->Find("version")->text == "2026.11.0");
  BOOST_TEST(json->Find("device")->Find("cc")->text == "9.0");
  const JsonValue* knobs = json->Find("knobs");
  BOOST_TEST(knobs->members.size() == 11u);
  BOOST_TEST(knobs->Find("q4k")->Find("value")->text == "HwDp4a");
  BOOST_TEST(knobs->Find("q4k")->Find("source")->text == "rule dp4a");
  BOOST_TEST(json->Find("gate")->items.size() == 2u);
}

BOOST_AUTO_TEST_CASE(decoder_layers_run_on_the_cpu_path) {
  TempDir dir;
  auto rt = MustStart(OnH100(dir));
  auto result = RunDecoderLayers(rt->dispatch(), "qwen2.5-1.5b", 1, 1);
  BOOST_REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error()));
  BOOST_TEST(!result->gpu);
  BOOST_TEST(result->tokens_per_second > 0);
  BOOST_REQUIRE(result->parity.size() == 7u);
  for (const MatrixParity& p : result->parity) {
    // HwDp4a's INT8 activation rounding on Gaussian inputs: about 0.5% error.
    BOOST_TEST(p.cosine_vs_reference > 0.999, p.name);
    BOOST_TEST(p.cosine_vs_reference < 1.0, p.name << ": the DP4A arithmetic should not be exact");
  }
  BOOST_TEST(!RunDecoderLayers(rt->dispatch(), "gpt-5", 1, 1).ok());
}

}  // namespace
}  // namespace kpolicy::runtime
