// The runtime on a fake device (no GPU needed): policy resolution order,
// fail-closed startup, dispatch checks, the gate's fallback and the log line.
#define BOOST_TEST_MODULE runtime
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/json.h"
#include "kpolicy/policy_loader.h"
#include "kpolicy/runtime/runtime.h"
#include "kpolicy/runtime/sha256.h"

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
  o.system_contracts_path = (dir.path / "etc-contracts").string();  // absent: no records
  return o;
}

// The default policy v2 takes Mwv for q4k unless evidence proves HwDp4a;
// HW_DP4A_Q4K opts in, giving the HwDp4a decision (and the fused gate+up
// kernel that belongs to it) whose fallbacks these tests exercise.
StartOptions OnH100WithHwDp4a(const TempDir& dir) {
  StartOptions o = OnH100(dir);
  o.environment->Set("HW_DP4A_Q4K", "1");
  return o;
}

std::unique_ptr<Runtime> MustStart(const StartOptions& o) {
  auto rt = Runtime::Start(o);
  if (!rt.ok()) BOOST_FAIL("startup failed: " + rt.error().message);
  return std::move(rt).value();
}

// A gate that runs every check the table asks for (GateChecksFor) and fails
// the listed (knob, value) pairs on the given calls (0: the first round; -1:
// every call), passing the rest.
struct Failing {
  std::string knob, value;
  int call = -1;
};
GateRunner FailingGateOn(std::vector<Failing> failing, std::shared_ptr<int> calls = std::make_shared<int>(0)) {
  return [failing, calls](const DispatchTable& t) {
    std::vector<GateResult> out;
    for (const GateCheck& c : GateChecksFor(t)) {
      GateResult r;
      r.knob = c.knob;
      r.value = c.kind == GateCheck::kGemv ? t.gemv_name(c.op) : "true";
      r.path = "fake";
      r.passed = true;
      r.cosine = 0.999;
      r.relative_l2 = 0.01;
      r.bound = {0.312, 0.95, "fake"};
      for (const Failing& f : failing) {
        if (f.knob == r.knob && f.value == r.value && (f.call < 0 || f.call == *calls)) {
          r.passed = false;
          r.cosine = 0.5;
          r.detail = "outside the bound of its arithmetic";
        }
      }
      out.push_back(r);
    }
    ++*calls;
    return out;
  };
}
GateRunner FailingGate(std::vector<std::pair<std::string, std::string>> failing) {
  std::vector<Failing> f;
  for (const auto& [knob, value] : failing) f.push_back({knob, value});
  return FailingGateOn(f);
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

// The built-in variant table with a launch function in every row, so that a
// build without CUDA can check what BuildDispatch refuses on a pretended
// GPU. The launch is never called.
Status NeverLaunched(const kernels::GemvArgs&) { return Fail(ErrorCode::kInternal, "not launched in tests"); }
std::vector<kernels::GemvVariant> PretendBuilt() {
  std::vector<kernels::GemvVariant> rows(kernels::BuiltinGemvVariants().begin(), kernels::BuiltinGemvVariants().end());
  for (kernels::GemvVariant& v : rows) {
    if (!v.launch) v.launch = &NeverLaunched;
  }
  return rows;
}

BOOST_AUTO_TEST_CASE(cpu_path_on_a_device_that_is_not_there_says_so) {
  TempDir dir;
  auto rt = MustStart(OnH100WithHwDp4a(dir));
  BOOST_TEST(!rt->dispatch().gpu);
  BOOST_TEST(!rt->cpu_only_reason().empty());
  BOOST_TEST(rt->dispatch().q4k == "HwDp4a");
  BOOST_TEST(rt->dispatch().q6k == "HwDp4a");
  BOOST_TEST(rt->dispatch().fused_gate_up);
  BOOST_TEST(rt->dispatch().mwv_warps == 3);
  BOOST_TEST(rt->gate_results().empty());
}

// The seed's policy has no constraint between the knobs: the dispatch table
// refuses the combination itself.
BOOST_AUTO_TEST_CASE(fused_gate_up_without_its_kernel_is_a_startup_error) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("seed.yaml", std::string(BuiltinSeedPolicyText()));
  o.environment->Set("FUSED_GATE_UP", "1");
  o.environment->Set("WIDE_Q4K", "1");
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("fused_gate_up = true needs q4k = HwDp4a") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find("q4k = Wide") != std::string::npos, rt.error().message);
}

// The default v2 declares the constraint (requires: q4k == HwDp4a,
// fallback-and-warn): the same request starts, with fused gate+up refused.
BOOST_AUTO_TEST_CASE(fused_gate_up_refused_by_the_default_policys_constraint) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.environment->Set("FUSED_GATE_UP", "1");
  o.environment->Set("WIDE_Q4K", "1");
  auto rt = MustStart(o);
  BOOST_TEST(rt->dispatch().q4k == "Wide");
  BOOST_TEST(!rt->dispatch().fused_gate_up);
  const Knob& fused = *rt->policy().FindKnob("fused_gate_up");
  const KnobTrace& t = rt->decision().knobs[&fused - rt->policy().knobs.data()];
  BOOST_TEST(t.refused_by >= 0);
  BOOST_TEST(t.refused_value == "true");
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
  auto table = BuildDispatch(*d, Capabilities{true, 80, ""}, PretendBuilt());
  BOOST_REQUIRE(!table.ok());
  BOOST_TEST(table.error().message == "fp8_prefill = true needs FP8 tensor cores (compute capability 8.9+); this GPU is 8.0");
  // On the CPU path the same decision is fine: the CPU computes everything.
  BOOST_TEST(BuildDispatch(*d, Capabilities{false, 80, "no GPU"}).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parity_gate)

BOOST_AUTO_TEST_CASE(a_failed_knob_falls_back_and_its_dependents_follow) {
  TempDir dir;
  StartOptions o = OnH100WithHwDp4a(dir);
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
  BOOST_TEST(t.pin_reason.find("parity gate: q4k = HwDp4a failed") == 0u, t.pin_reason);
  BOOST_TEST(t.pin_reason.find("fell back to Mwv") != std::string::npos, t.pin_reason);
  // The second round re-ran the gate on the fallback, which passed.
  BOOST_REQUIRE(rt->gate_results().size() >= 2u);
  BOOST_TEST(rt->gate_results()[0].value == "Mwv");
  BOOST_TEST(rt->gate_results()[0].passed);
  BOOST_TEST(rt->log_line().find("\"fallbacks\":[\"q4k: parity gate: q4k = HwDp4a failed") != std::string::npos, rt->log_line());
}

BOOST_AUTO_TEST_CASE(a_fallback_that_fails_too_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.gate = FailingGate({{"q6k", "HwDp4a"}, {"q6k", "Mwv"}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("q6k = Mwv [fake] FAILED") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find("after falling back from q6k = HwDp4a [fake] FAILED") != std::string::npos,
             rt.error().message);
}

// Issue 15 #12: the second round's failure of a knob that passed the first
// round (here q6k, once q4k fell back) used to be recorded as a fallback and
// startup went on with it. It stops startup, naming both failures.
BOOST_AUTO_TEST_CASE(a_second_round_failure_of_another_knob_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100WithHwDp4a(dir);
  o.gate = FailingGateOn({{"q4k", "HwDp4a", 0}, {"q6k", "HwDp4a", 1}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST((rt.error().code == ErrorCode::kCheckFailed));
  const std::string& m = rt.error().message;
  BOOST_TEST(m.find("after falling back from q4k = HwDp4a [fake] FAILED") != std::string::npos, m);
  BOOST_TEST(m.find("the re-evaluated decision failed too: q6k = HwDp4a [fake] FAILED") != std::string::npos, m);
  BOOST_TEST(m.find("fell back") == std::string::npos, m);
}

// The GEMM paths are gated too: the FP8 prefill GEMM failing on an H100
// switches fp8_prefill to the overlay's fallback, and fp8_decode (whose
// default reads fp8_prefill) follows; without a fallback it stops startup.
// Run against the seed's policy: default v2 turns fp8_decode off outright
// (measured slower than the GEMV at M = 2), so only the seed's fp8_decode
// depends on fp8_prefill.
BOOST_AUTO_TEST_CASE(a_failed_gemm_path_falls_back_or_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("seed.yaml", std::string(BuiltinSeedPolicyText()));
  o.gate = FailingGate({{"fp8_prefill", "true"}});
  auto no_fallback = Runtime::Start(o);
  BOOST_REQUIRE(!no_fallback.ok());
  BOOST_TEST(no_fallback.error().message.find("knob fp8_prefill declares no fallback") != std::string::npos,
             no_fallback.error().message);

  o.policy_path = dir.Write("fp8-fallback.yaml", "kpolicy: 1\nname: fp8-fallback\nversion: 1\nextends: builtin:seed\n"
                                                 "knobs:\n  fp8_prefill:\n    fallback: false\n");
  auto rt = MustStart(o);
  BOOST_REQUIRE(rt->decision().policy->FindKnob("batched_prefill"));  // the seed's spelling
  BOOST_TEST(!rt->dispatch().fp8_prefill);
  BOOST_TEST(!rt->dispatch().fp8_decode);
  BOOST_TEST(rt->fallbacks().size() == 1u);
  BOOST_TEST(rt->log_line().find("fp8_prefill: parity gate: fp8_prefill = true failed") != std::string::npos, rt->log_line());
  // The second round gated the FP16 prefill GEMM that batched_prefill now runs.
  const auto& g = rt->gate_results();
  BOOST_TEST(std::any_of(g.begin(), g.end(), [](const GateResult& r) { return r.knob == "batched_prefill"; }));
}

BOOST_AUTO_TEST_CASE(every_path_the_decision_turns_on_is_checked) {
  DispatchTable t;
  std::vector<std::string> knobs;
  for (const GateCheck& c : GateChecksFor(t)) knobs.push_back(c.knob);
  BOOST_TEST(knobs == (std::vector<std::string>{"q4k", "q6k"}));
  t.fused_gate_up = t.batched_prefill = t.fp8_decode = t.hgemm_decode = t.w4a16_interleaved = true;
  knobs.clear();
  for (const GateCheck& c : GateChecksFor(t)) knobs.push_back(c.knob);
  BOOST_TEST(knobs == (std::vector<std::string>{"q4k", "q6k", "fused_gate_up", "batched_prefill", "fp8_decode",
                                                "hgemm_decode", "w4a16_interleaved"}));
  // With FP8 prefill the batched prefill is the FP8 GEMM, checked once as fp8_prefill.
  t.fp8_prefill = true;
  knobs.clear();
  for (const GateCheck& c : GateChecksFor(t)) knobs.push_back(c.knob);
  BOOST_TEST(std::count(knobs.begin(), knobs.end(), "batched_prefill") == 0);
  BOOST_TEST(std::count(knobs.begin(), knobs.end(), "fp8_prefill") == 1);
}

BOOST_AUTO_TEST_CASE(a_policy_can_make_a_failed_gate_fatal) {
  TempDir dir;
  StartOptions o = OnH100WithHwDp4a(dir);  // the failing row must be the one dispatched
  o.policy_path = dir.Write("fatal.yaml", std::string(kOneKnob).replace(std::string(kOneKnob).find("NAME"), 4, "strict") +
                                             "on_gate_failure: fatal\n");
  o.gate = FailingGate({{"q4k", "HwDp4a"}});
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().message.find("on_gate_failure: fatal") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_knob_without_a_fallback_stops_startup) {
  TempDir dir;
  StartOptions o = OnH100WithHwDp4a(dir);  // HwDp4a first, so that its fallback Mwv is gated next
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
  BOOST_TEST(rt.error().message.find("the re-evaluated decision failed too: q4k = Mwv [fake] FAILED") !=
                 std::string::npos,
             rt.error().message);
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
  BOOST_TEST(json->Find("policy")->Find("version")->text == "2026.12.0");  // default v2
  BOOST_TEST(json->Find("device")->Find("cc")->text == "9.0");
  const JsonValue* knobs = json->Find("knobs");
  BOOST_TEST(knobs->members.size() == 11u);
  // Default v2: q4k is Mwv unless a record proves HwDp4a's model-level parity
  // on this GPU, and none does for the H100: the default decides.
  BOOST_TEST(knobs->Find("q4k")->Find("value")->text == "Mwv");
  BOOST_TEST(knobs->Find("q4k")->Find("source")->text == "default");
  BOOST_TEST(knobs->Find("q6k")->Find("source")->text == "rule dp4a");
  // Default v2 spells the prefill switch prefill_path (batched below cc 120).
  BOOST_REQUIRE(knobs->Find("prefill_path"));
  BOOST_TEST(knobs->Find("prefill_path")->Find("value")->text == "batched");
  BOOST_TEST(!knobs->Find("batched_prefill"));
  // An H100 with default v2: both GEMV kernels (q4k Mwv, q6k HwDp4a) and the
  // FP8 prefill GEMM, each with its bound. fused_gate_up is off (it requires
  // q4k == HwDp4a) and so is fp8_decode (v2: off by default, slower than the
  // GEMV at M = 2); the FP16 batched prefill is the FP8 GEMM's, gated once.
  std::vector<std::string> gated;
  for (const JsonValue& g : json->Find("gate")->items) {
    gated.push_back(g.Find("knob")->text + "=" + g.Find("value")->text);
    BOOST_TEST(g.Find("bound")->Find("min_cosine") != nullptr);
    BOOST_TEST(g.Find("bound")->Find("derivation")->text == "fake");
  }
  BOOST_TEST(gated == (std::vector<std::string>{"q4k=Mwv", "q6k=HwDp4a", "fp8_prefill=true"}));
}

// The seed's decisions still gate the paths the v1 default turned on: the
// fused gate+up kernel and the FP8 decode GEMM, on the HwDp4a rows.
BOOST_AUTO_TEST_CASE(the_seed_policy_gates_the_fused_kernel_and_fp8_decode) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("seed.yaml", std::string(BuiltinSeedPolicyText()));
  o.gate = FailingGate({});
  auto rt = MustStart(o);
  auto json = ParseJson(rt->log_line());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(json->Find("knobs")->Find("q4k")->Find("source")->text == "rule dp4a");
  std::vector<std::string> gated;
  for (const JsonValue& g : json->Find("gate")->items) gated.push_back(g.Find("knob")->text + "=" + g.Find("value")->text);
  BOOST_TEST(gated == (std::vector<std::string>{"q4k=HwDp4a", "q6k=HwDp4a", "fused_gate_up=true", "fp8_prefill=true",
                                                "fp8_decode=true"}));
}

BOOST_AUTO_TEST_SUITE(knobs)

BOOST_AUTO_TEST_CASE(knobs_the_runtime_does_not_know_pass_through_to_the_host) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("host.yaml", R"(kpolicy: 1
name: host
version: 1
extends: builtin:default
knobs:
  kv_cache_dtype:
    type: {enum: [fp16, fp8]}
    default: fp8
  max_batch:
    type: int
    default: 64
)");
  auto rt = MustStart(o);
  const DispatchTable& t = rt->dispatch();
  // Every policy knob the runtime does not declare (the default policy's
  // own `cc` among them), and only those.
  BOOST_TEST(t.host_knobs.size() == rt->policy().knobs.size() - RuntimeKnobs().size());
  for (const auto& [name, value] : t.host_knobs) BOOST_TEST(!FindRuntimeKnob(name), name);
  BOOST_TEST(t.host_knobs.at("kv_cache_dtype") == "fp8");
  BOOST_TEST(t.host_knobs.at("max_batch") == "64");
  BOOST_TEST(!t.host_knobs.count("q4k"));  // the runtime acts on q4k itself
  auto json = ParseJson(rt->log_line());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(json->Find("host_knobs")->Find("max_batch")->text == "64");
}

BOOST_AUTO_TEST_CASE(every_declared_knob_is_read_from_the_policy) {
  // The default policy and the seed's each decide every knob the runtime
  // declares, under one of its spellings, with the type of that spelling;
  // a knob typed otherwise is named in the error. Default v2 spells the
  // prefill switch prefill_path {serial, batched}, the seed batched_prefill.
  for (const char* file : {"/policies/default.yaml", "/policies/compat/seed.yaml"}) {
    auto policy = LoadPolicyFile(std::string(KPOLICY_SOURCE_DIR) + file);
    BOOST_REQUIRE_MESSAGE(policy.ok(), file);
    for (const RuntimeKnob& rk : RuntimeKnobs()) {
      const Knob* k = FindPolicyKnob(*policy, rk);
      BOOST_REQUIRE_MESSAGE(k, std::string(file) + ": " + std::string(rk.name));
      BOOST_TEST(FindRuntimeKnob(k->name) == &rk, k->name);
      if (k->name == rk.name) {
        BOOST_TEST((k->type.kind == rk.type), rk.name);
      } else {
        BOOST_TEST(k->name == rk.enum_spelling.name);
        BOOST_TEST((k->type.kind == TypeKind::kEnum), k->name);
        BOOST_TEST(k->type.MemberIndex(rk.enum_spelling.on).has_value(), k->name);
        BOOST_TEST(k->type.MemberIndex(rk.enum_spelling.off).has_value(), k->name);
      }
      BOOST_TEST(!rk.switches.empty(), rk.name);
    }
  }
  BOOST_REQUIRE(LoadPolicyFile(std::string(KPOLICY_SOURCE_DIR) + "/policies/default.yaml")->FindKnob("prefill_path"));
  TempDir dir;
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("typed.yaml", "kpolicy: 1\nname: typed\nversion: 1\nknobs:\n"
                                          "  q4k: {type: {enum: [Mwv]}, default: Mwv}\n"
                                          "  mwv_warps: {type: bool, default: true}\n");
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST((rt.error().code == ErrorCode::kInvalidInput));
  BOOST_TEST(rt.error().message.find("does not decide 'q6k', 'batched_prefill' or 'prefill_path'") != std::string::npos,
             rt.error().message);
  BOOST_TEST(rt.error().message.find("knob 'mwv_warps' is bool; the runtime reads it as int") != std::string::npos,
             rt.error().message);
}

// prefill_path and batched_prefill are one switch: each spelling sets the
// table's batched_prefill, a prefill_path without both members is typed
// otherwise, and a policy with both spellings is refused.
BOOST_AUTO_TEST_CASE(the_prefill_switch_is_read_from_either_spelling) {
  TempDir dir;
  StartOptions o = OnH100(dir);
  BOOST_TEST(MustStart(o)->dispatch().batched_prefill);  // v2: batched below cc 120
  o.environment->Set("BATCHED_PREFILL", "0");
  BOOST_TEST(!MustStart(o)->dispatch().batched_prefill);  // v2: prefill_path = serial
  const std::string seed = dir.Write("seed.yaml", std::string(BuiltinSeedPolicyText()));
  o.policy_path = seed;
  BOOST_TEST(!MustStart(o)->dispatch().batched_prefill);  // the seed: batched_prefill = false
  o.environment = Environment();
  BOOST_TEST(MustStart(o)->dispatch().batched_prefill);
  BOOST_TEST(!MustStart(o)->dispatch().host_knobs.count("batched_prefill"));

  o.policy_path = dir.Write("both.yaml", "kpolicy: 1\nname: both\nversion: 1\nextends: builtin:seed\nknobs:\n"
                                         "  prefill_path: {type: {enum: [serial, batched]}, default: serial}\n");
  auto both = Runtime::Start(o);
  BOOST_REQUIRE(!both.ok());
  BOOST_TEST(both.error().message.find("knobs 'batched_prefill' and 'prefill_path' are one switch") != std::string::npos,
             both.error().message);

  o.policy_path = dir.Write("typed.yaml", "kpolicy: 1\nname: typed\nversion: 1\nknobs:\n"
                                          "  prefill_path: {type: {enum: [batched, chunked]}, default: batched}\n");
  auto typed = Runtime::Start(o);
  BOOST_REQUIRE(!typed.ok());
  BOOST_TEST(typed.error().message.find("knob 'prefill_path' is enum {batched, chunked}") != std::string::npos,
             typed.error().message);
  BOOST_TEST(typed.error().message.find("the runtime reads it as an enum with members batched and serial") !=
                 std::string::npos,
             typed.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(effective_config)

BOOST_AUTO_TEST_CASE(names_the_policy_file_and_its_digest_and_every_knobs_reason) {
  TempDir dir;
  const std::string text = Named("digest");
  StartOptions o = OnH100(dir);
  o.policy_path = dir.Write("digest.yaml", text);
  auto rt = MustStart(o);
  auto json = ParseJson(rt->EffectiveConfigJson(2));
  BOOST_REQUIRE(json.ok());
  const JsonValue* policy = json->Find("policy");
  BOOST_TEST(policy->Find("name")->text == "digest");
  BOOST_TEST(policy->Find("file")->text == o.policy_path);
  BOOST_TEST(policy->Find("sha256")->text == Sha256Hex(text));
  const JsonValue* devices = json->Find("devices");
  BOOST_REQUIRE(devices->items.size() == 1u);  // the one device StartOptions gave
  const JsonValue& gpu = devices->items[0];
  BOOST_TEST(gpu.Find("ordinal")->text == "0");
  const JsonValue* knobs = gpu.Find("knobs");
  BOOST_TEST(knobs->items.size() == rt->policy().knobs.size());
  int saw = 0;
  for (const JsonValue& k : knobs->items) {
    BOOST_TEST(!k.Find("reason")->text.empty(), k.Find("name")->text);
    const std::string& name = k.Find("name")->text;
    if (name == "q4k") {
      // Default v2: Mwv by its default, whose reason is the parity records'
      // (HwDp4a fires only where a record proves model-level parity).
      ++saw;
      BOOST_TEST(k.Find("value")->text == "Mwv");
      BOOST_TEST(!k.Find("rule"));
      BOOST_TEST(k.Find("reason")->text.find("fp32 activations keep CPU/GPU parity") != std::string::npos,
                 k.Find("reason")->text);
      BOOST_TEST(k.Find("acted_on_by")->text == "runtime");
    } else if (name == "q6k") {
      ++saw;  // a rule's decision names the rule and gives its why
      BOOST_TEST(k.Find("value")->text == "HwDp4a");
      BOOST_TEST(k.Find("rule")->text == "dp4a");
      BOOST_TEST(k.Find("reason")->text.find("half-warp DP4A") == 0u, k.Find("reason")->text);
    } else if (name == "prefill_path") {
      ++saw;  // v2's spelling of the prefill switch is the runtime's
      BOOST_TEST(k.Find("acted_on_by")->text == "runtime");
      BOOST_TEST(k.Find("switches")->text == FindRuntimeKnob("batched_prefill")->switches);
    } else if (name == "cc") {
      ++saw;
      BOOST_TEST(k.Find("acted_on_by")->text == "host");
    }
  }
  BOOST_TEST(saw == 4);
  BOOST_TEST(gpu.Find("kernels")->Find("gpu")->boolean == false);
  BOOST_TEST(!gpu.Find("kernels")->Find("cpu_only_reason")->text.empty());
  BOOST_TEST(gpu.Find("gate")->items.empty());  // no GPU: nothing gated
}

BOOST_AUTO_TEST_CASE(the_builtin_policy_digest_is_of_its_compiled_in_text) {
  TempDir dir;
  auto rt = MustStart(OnH100(dir));
  BOOST_TEST(rt->policy_sha256().size() == 64u);
  std::ifstream in(std::string(KPOLICY_SOURCE_DIR) + "/policies/default.yaml", std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(rt->policy_sha256() == Sha256Hex(file));  // the build embeds the file as it is
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(every_gpu_of_a_host)

DeviceFacts Catalog(const char* key) { return FindCatalogDevice(key)->ToFacts(); }

// A host the test machine does not have: GPU 0 an H100, GPU 1 an L4.
StartOptions OnHost(const TempDir& dir, std::vector<DeviceFacts> gpus) {
  StartOptions o = OnH100(dir);
  o.device.reset();
  o.probe = DeviceProbe::Fixed(std::move(gpus));
  return o;
}

BOOST_AUTO_TEST_CASE(each_gpu_is_decided_for_its_own_facts) {
  TempDir dir;
  auto rt = MustStart(OnHost(dir, {Catalog("h100"), Catalog("l4")}));
  BOOST_REQUIRE(rt->devices().size() == 2u);
  const DeviceRuntime& h100 = rt->device(0);
  const DeviceRuntime& l4 = rt->device(1);
  BOOST_TEST(h100.ordinal == 0);
  BOOST_TEST(l4.ordinal == 1);
  BOOST_TEST(h100.decision.device.name == Catalog("h100").name);
  BOOST_TEST(l4.decision.device.name == Catalog("l4").name);
  // default.yaml's sm_target: sm_90 is the cap (rule ptx8-max-sm90 fires
  // above 90, not at it); the L4 (cc 8.9) takes its own.
  BOOST_TEST(h100.dispatch.sm_target == "sm_90");
  BOOST_TEST(l4.dispatch.sm_target == "sm_89");
  // Each GPU's decision is what the engine decides for that GPU alone.
  for (const DeviceRuntime& gpu : rt->devices()) {
    auto alone = Evaluate(rt->policy(), gpu.decision.device, Environment());
    BOOST_REQUIRE(alone.ok());
    for (const Knob& k : rt->policy().knobs) BOOST_TEST(gpu.decision.ValueText(k) == alone->ValueText(k), k.name);
    BOOST_TEST(!gpu.dispatch.gpu);  // a fixed list's devices run the CPU path
  }
  // GPU 0's shortcuts are GPU 0's.
  BOOST_TEST(&rt->dispatch() == &h100.dispatch);
  BOOST_TEST(&rt->log_line() == &h100.log_line);
}

BOOST_AUTO_TEST_CASE(a_runtime_knob_may_differ_between_gpus) {
  TempDir dir;
  // fp8_prefill needs cc >= 89 (rule fp8-tensor-cores): on for the H100, off for the A100.
  auto rt = MustStart(OnHost(dir, {Catalog("a100"), Catalog("h100")}));
  BOOST_TEST(!rt->device(0).dispatch.fp8_prefill);
  BOOST_TEST(rt->device(1).dispatch.fp8_prefill);
}

BOOST_AUTO_TEST_CASE(one_log_line_per_gpu) {
  TempDir dir;
  auto rt = MustStart(OnHost(dir, {Catalog("h100"), Catalog("l4")}));
  for (int i = 0; i < 2; ++i) {
    const std::string& line = rt->device(i).log_line;
    BOOST_TEST(line.find('\n') == std::string::npos);
    auto json = ParseJson(line);
    BOOST_REQUIRE(json.ok());
    BOOST_TEST(json->Find("event")->text == "kpolicy.startup");
    BOOST_TEST(json->Find("ordinal")->text == std::to_string(i));
    BOOST_TEST(json->Find("devices")->text == "2");
    BOOST_TEST(json->Find("device")->Find("name")->text == rt->device(i).decision.device.name);
    BOOST_TEST(json->Find("knobs")->Find("sm_target")->Find("value")->text == (i == 0 ? "sm_90" : "sm_89"));
    BOOST_TEST(json->Find("policy")->Find("sha256")->text == rt->policy_sha256());
  }
}

BOOST_AUTO_TEST_CASE(the_effective_configuration_has_every_gpu) {
  TempDir dir;
  auto rt = MustStart(OnHost(dir, {Catalog("h100"), Catalog("l4")}));
  auto json = ParseJson(rt->EffectiveConfigJson());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(json->Find("policy")->Find("sha256")->text == rt->policy_sha256());
  const JsonValue* devices = json->Find("devices");
  BOOST_REQUIRE(devices->items.size() == 2u);
  for (int i = 0; i < 2; ++i) {
    const JsonValue& gpu = devices->items[i];
    BOOST_TEST(gpu.Find("ordinal")->text == std::to_string(i));
    BOOST_TEST(gpu.Find("device")->Find("cc")->text == (i == 0 ? "9.0" : "8.9"));
    std::string sm_target;
    for (const JsonValue& k : gpu.Find("knobs")->items) {
      if (k.Find("name")->text == "sm_target") sm_target = k.Find("value")->text;
    }
    BOOST_TEST(sm_target == (i == 0 ? "sm_90" : "sm_89"));
    BOOST_TEST(gpu.Find("kernels")->Find("cpu_only_reason")->text == rt->device(i).cpu_only_reason);
  }
}

BOOST_AUTO_TEST_CASE(each_gpu_is_gated_and_falls_back_on_its_own) {
  TempDir dir;
  StartOptions o = OnHost(dir, {Catalog("h100"), Catalog("h100")});
  o.environment->Set("HW_DP4A_Q4K", "1");
  // Call 0 gates GPU 0; call 1 GPU 1, whose HwDp4a fails; call 2 its fallback.
  o.gate = FailingGateOn({{"q4k", "HwDp4a", 1}});
  auto rt = MustStart(o);
  BOOST_TEST(rt->device(0).dispatch.q4k == "HwDp4a");
  BOOST_TEST(rt->device(0).fallbacks.empty());
  BOOST_TEST(rt->device(1).dispatch.q4k == "Mwv");
  BOOST_REQUIRE(rt->device(1).fallbacks.size() == 1u);
  BOOST_TEST(rt->device(1).fallbacks[0].find("q4k: parity gate: q4k = HwDp4a failed") == 0u, rt->device(1).fallbacks[0]);
  BOOST_TEST(rt->device(1).log_line.find("fell back to Mwv") != std::string::npos);
  BOOST_TEST(rt->device(0).log_line.find("fell back") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_gpu_that_cannot_start_stops_the_host_and_is_named) {
  TempDir dir;
  StartOptions o = OnHost(dir, {Catalog("h100"), Catalog("l4")});
  o.gate = FailingGateOn({{"fp8_prefill", "true", 1}});  // the L4's; fp8_prefill declares no fallback
  auto rt = Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST((rt.error().code == ErrorCode::kCheckFailed));
  BOOST_TEST(rt.error().message.find("GPU 1 (" + Catalog("l4").name + "): parity gate: fp8_prefill = true") == 0u,
             rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_host_without_a_gpu_is_decided_for_the_fallback_device_on_the_cpu) {
  TempDir dir;
  auto rt = MustStart(OnHost(dir, {}));
  BOOST_REQUIRE(rt->devices().size() == 1u);
  BOOST_TEST(rt->decision().device.name == "no GPU");
  BOOST_TEST(rt->decision().device.cc() == kFallbackCcMajor * 10 + kFallbackCcMinor);
  BOOST_TEST(rt->cpu_only_reason().find("the host's device list is empty") != std::string::npos, rt->cpu_only_reason());
  auto json = ParseJson(rt->EffectiveConfigJson());
  BOOST_REQUIRE(json.ok());
  const JsonValue& gpu = json->Find("devices")->items.at(0);
  BOOST_TEST(gpu.Find("kernels")->Find("gpu")->boolean == false);
  BOOST_TEST(gpu.Find("device")->Find("fallbacks")->items.size() >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sha256)

// FIPS 180-4's examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
BOOST_AUTO_TEST_CASE(known_vectors) {
  BOOST_TEST(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_TEST(Sha256Hex(std::string(1000000, 'a')) ==
             "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_CASE(padding_boundaries) {
  // 55, 56 and 64 bytes: the length fits the last block, spills into a
  // second, or the message fills a block exactly. Digests from FIPS 180-4's
  // algorithm as implemented by coreutils sha256sum.
  BOOST_TEST(Sha256Hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  BOOST_TEST(Sha256Hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  BOOST_TEST(Sha256Hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace kpolicy::runtime
