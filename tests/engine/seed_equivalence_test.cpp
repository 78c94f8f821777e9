// policies/compat/seed.yaml (builtin:seed) must decide exactly as the seed does (DESIGN.md's
// table), for every catalog device and compute capability, with every
// override variable set to "0", "1", "" and garbage, alone and in pairs.
#define BOOST_TEST_MODULE seed_equivalence
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/policy_loader.h"
#include "seed_oracle.h"

namespace kpolicy {
namespace {

using EnvMap = std::map<std::string, std::string>;

const std::vector<std::string> kVariables = {
    "WIDE_Q4K_DISABLE", "WIDE_Q4K", "VECTORIZED_Q4K", "HW_DP4A_Q4K", "DP4A_Q4K", "MWV_Q4K",
    "HW_DP4A_Q6K", "DP4A_Q6K", "MWV_Q6K", "MWV_WARPS", "BATCHED_PREFILL", "HGEMM_DECODE",
    "FUSED_GATE_UP", "FP8_PREFILL", "FP8_DECODE", "W4A16_INTERLEAVED"};
const std::vector<std::string> kValues = {"0", "1", "", "garbage"};
const std::vector<std::string> kWarpValues = {"1", "3", "4", "32", "33", "+7", "-1", "07",
                                              " 5", "4294967296", "99999999999999999999"};

std::string SourcePath(const std::string& relative) {
  return std::string(KPOLICY_SOURCE_DIR) + "/" + relative;
}

const Policy& SeedPolicy() {
  static const Policy policy = [] {
    auto loaded = LoadPolicyFile(SourcePath("policies/compat/seed.yaml"));
    if (!loaded.ok()) {
      BOOST_FAIL("policies/compat/seed.yaml does not load:\n" + loaded.error().ToString());
    }
    return std::move(loaded).value();
  }();
  return policy;
}

std::string Describe(const DeviceFacts& d, const EnvMap& env) {
  std::ostringstream s;
  s << "cc " << d.cc_major << "." << d.cc_minor << " env {";
  for (const auto& [k, v] : env) s << " " << k << "=\"" << v << "\"";
  s << " }";
  return s.str();
}

// Evaluates and compares every knob with the oracle; returns false on a
// difference, after reporting it.
bool Agrees(const DeviceFacts& device, const EnvMap& env) {
  Environment e;
  for (const auto& [k, v] : env) e.Set(k, v);
  auto decision = Evaluate(SeedPolicy(), device, e);
  if (!decision.ok()) {
    BOOST_ERROR(Describe(device, env) + ": evaluation failed: " + decision.error().ToString());
    return false;
  }
  std::map<std::string, std::string> got;
  for (const Knob& k : SeedPolicy().knobs) got[k.name] = decision->ValueText(k);
  const std::map<std::string, std::string> want = testing::SeedDecide(device.cc_major, device.cc_minor, env);
  if (got == want) return true;
  std::string diff;
  for (const auto& [k, v] : want) {
    if (got[k] != v) diff += " " + k + ": policy " + got[k] + ", seed " + v + ";";
  }
  for (const auto& [k, v] : got) {
    if (!want.count(k)) diff += " extra knob " + k + ";";
  }
  BOOST_ERROR(Describe(device, env) + ":" + diff);
  return false;
}

std::vector<DeviceFacts> CatalogDevices() {
  std::vector<DeviceFacts> out;
  for (const CatalogEntry& e : DeviceCatalog()) out.push_back(e.ToFacts());
  return out;
}

// Every compute capability 1.0 .. 15.9, including the boundaries 7.5, 8.9,
// 9.0/9.1 and 12.0 that the rules turn on.
std::vector<DeviceFacts> ComputeCapabilitySweep() {
  std::vector<DeviceFacts> out;
  for (int major = 1; major <= 15; ++major) {
    for (int minor = 0; minor <= 9; ++minor) {
      out.push_back(DeviceFromComputeCapability(major, minor, 16, "sweep"));
    }
  }
  return out;
}

// Stops a sweep after a few reported differences so a regression prints a
// readable list rather than thousands of lines.
struct Counter {
  int cases = 0;
  int failures = 0;
  void Check(const DeviceFacts& d, const EnvMap& env) {
    ++cases;
    if (failures < 20 && !Agrees(d, env)) ++failures;
  }
};

BOOST_AUTO_TEST_CASE(builtin_seed_is_policies_compat_seed_yaml) {
  std::ifstream in(SourcePath("policies/compat/seed.yaml"), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  BOOST_TEST(text.str() == std::string(BuiltinSeedPolicyText()));
}

BOOST_AUTO_TEST_CASE(decides_the_eleven_outputs_of_the_seed) {
  std::vector<std::string> names;
  for (const Knob& k : SeedPolicy().knobs) names.push_back(k.name);
  const std::vector<std::string> want = {"cc", "sm_target", "q4k", "q6k", "mwv_warps",
                                         "batched_prefill", "hgemm_decode", "fused_gate_up",
                                         "fp8_prefill", "fp8_decode", "w4a16_interleaved"};
  BOOST_TEST(names == want, boost::test_tools::per_element());
  BOOST_TEST(SeedPolicy().EnvironmentVariables().size() == kVariables.size());
}

BOOST_AUTO_TEST_CASE(every_device_without_overrides) {
  Counter c;
  for (const DeviceFacts& d : CatalogDevices()) c.Check(d, {});
  for (const DeviceFacts& d : ComputeCapabilitySweep()) c.Check(d, {});
  BOOST_TEST(c.cases == 20 + 150);
}

BOOST_AUTO_TEST_CASE(every_variable_alone_with_every_value) {
  Counter c;
  std::vector<DeviceFacts> devices = CatalogDevices();
  for (const DeviceFacts& d : ComputeCapabilitySweep()) {
    if (d.cc_major >= 3 && d.cc_major <= 13) devices.push_back(d);
  }
  for (const DeviceFacts& d : devices) {
    for (const std::string& var : kVariables) {
      for (const std::string& value : kValues) c.Check(d, {{var, value}});
    }
    for (const std::string& value : kWarpValues) c.Check(d, {{"MWV_WARPS", value}});
  }
  BOOST_TEST(c.failures == 0);
  BOOST_TEST(c.cases == static_cast<int>(devices.size() * (kVariables.size() * kValues.size() +
                                                           kWarpValues.size())));
}

BOOST_AUTO_TEST_CASE(every_pair_of_variables_with_every_pair_of_values) {
  Counter c;
  for (const DeviceFacts& d : CatalogDevices()) {
    for (size_t i = 0; i < kVariables.size(); ++i) {
      for (size_t j = i + 1; j < kVariables.size(); ++j) {
        for (const std::string& a : kValues) {
          for (const std::string& b : kValues) c.Check(d, {{kVariables[i], a}, {kVariables[j], b}});
        }
      }
    }
  }
  BOOST_TEST(c.failures == 0);
  BOOST_TEST(c.cases == 20 * 120 * 16);
}

BOOST_AUTO_TEST_CASE(random_environments_of_up_to_eight_variables) {
  std::mt19937 rng(20261125);  // fixed: a failure reproduces
  std::vector<std::string> values = kValues;
  values.insert(values.end(), kWarpValues.begin(), kWarpValues.end());
  const std::vector<DeviceFacts> devices = ComputeCapabilitySweep();
  Counter c;
  for (int n = 0; n < 20000; ++n) {
    EnvMap env;
    const int count = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < count; ++k) {
      env[kVariables[rng() % kVariables.size()]] = values[rng() % values.size()];
    }
    c.Check(devices[rng() % devices.size()], env);
  }
  BOOST_TEST(c.failures == 0);
}

BOOST_AUTO_TEST_CASE(unrelated_variables_change_nothing) {
  Counter c;
  for (const DeviceFacts& d : CatalogDevices()) {
    c.Check(d, {{"PATH", "/usr/bin"}, {"HW_DP4A_Q4", "1"}, {"wide_q4k", "1"}, {"CUDA_VISIBLE_DEVICES", "0"}});
  }
  BOOST_TEST(c.failures == 0);
}

// The oracle must be able to tell a wrong policy from the right one: move
// the Blackwell boundary by one and the RTX 5090 (12.0) must disagree.
BOOST_AUTO_TEST_CASE(oracle_catches_a_moved_boundary) {
  std::string text(BuiltinSeedPolicyText());
  const std::string from = "when: device.cc >= 120";
  BOOST_REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(), "when: device.cc >= 121");
  auto mutated = LoadPolicyText(text, "mutated.yaml");
  BOOST_REQUIRE(mutated.ok());
  const DeviceFacts rtx5090 = FindCatalogDevice("rtx5090")->ToFacts();
  auto decision = Evaluate(*mutated, rtx5090, Environment());
  BOOST_REQUIRE(decision.ok());
  const auto seed = testing::SeedDecide(12, 0, {});
  BOOST_TEST(decision->ValueText(*mutated->FindKnob("q4k")) == "HwDp4a");
  BOOST_TEST(seed.at("q4k") == "Mwv");
}

}  // namespace
}  // namespace kpolicy
