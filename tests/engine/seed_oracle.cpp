#include "seed_oracle.h"

#include <cstdint>
#include <optional>

namespace kpolicy::testing {
namespace {

using Env = std::map<std::string, std::string>;

bool IsSet(const Env& env, const char* name) { return env.count(name) > 0; }

std::optional<std::string> Get(const Env& env, const char* name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// Rust's u32::from_str: an optional '+', then decimal digits, no overflow.
std::optional<uint32_t> ParseU32(const std::string& s) {
  size_t i = (!s.empty() && s[0] == '+') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  uint64_t n = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    if (n > UINT32_MAX) return std::nullopt;
  }
  return static_cast<uint32_t>(n);
}

const char* Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::map<std::string, std::string> SeedDecide(int major, int minor, const Env& env) {
  const int cc = major * 10 + minor;
  const bool has_dp4a = major > 7 || (major == 7 && minor >= 5);
  std::map<std::string, std::string> out;
  out["cc"] = std::to_string(cc);
  out["sm_target"] = (major > 9 || (major == 9 && minor > 0))
                         ? "sm_90"
                         : "sm_" + std::to_string(major) + std::to_string(minor);

  std::string q4k;
  if (IsSet(env, "WIDE_Q4K_DISABLE")) q4k = "Legacy";
  else if (IsSet(env, "WIDE_Q4K")) q4k = "Wide";
  else if (IsSet(env, "VECTORIZED_Q4K")) q4k = "Vectorized";
  else if (IsSet(env, "HW_DP4A_Q4K")) q4k = "HwDp4a";
  else if (IsSet(env, "DP4A_Q4K")) q4k = "MwvDp4a";
  else if (IsSet(env, "MWV_Q4K")) q4k = "Mwv";
  else if (cc >= 120) q4k = "Mwv";
  else if (has_dp4a) q4k = "HwDp4a";
  else q4k = "Mwv";
  out["q4k"] = q4k;

  if (IsSet(env, "HW_DP4A_Q6K")) out["q6k"] = "HwDp4a";
  else if (IsSet(env, "DP4A_Q6K")) out["q6k"] = "Dp4a";
  else if (IsSet(env, "MWV_Q6K")) out["q6k"] = "Mwv";
  else out["q6k"] = has_dp4a ? "HwDp4a" : "Mwv";

  // The project narrows the seed's any-u32 to 1..32; anything else is ignored.
  uint32_t warps = 3;
  if (auto text = Get(env, "MWV_WARPS")) {
    if (auto n = ParseU32(*text); n && *n >= 1 && *n <= 32) warps = *n;
  }
  out["mwv_warps"] = std::to_string(warps);

  auto batched = Get(env, "BATCHED_PREFILL");
  out["batched_prefill"] = Bool(batched ? *batched != "0" : true);
  auto hgemm = Get(env, "HGEMM_DECODE");
  out["hgemm_decode"] = Bool(hgemm ? *hgemm == "1" : false);
  auto fused = Get(env, "FUSED_GATE_UP");
  out["fused_gate_up"] = Bool(fused ? *fused != "0" : q4k == "HwDp4a");

  bool fp8_prefill = cc >= 89;
  if (auto v = Get(env, "FP8_PREFILL")) {
    if (*v == "0") fp8_prefill = false;
    if (*v == "1") fp8_prefill = true;
  }
  out["fp8_prefill"] = Bool(fp8_prefill);
  bool fp8_decode = fp8_prefill;
  if (auto v = Get(env, "FP8_DECODE")) {
    if (*v == "0") fp8_decode = false;
    if (*v == "1") fp8_decode = true;
  }
  out["fp8_decode"] = Bool(fp8_decode);
  bool w4a16 = false;
  if (auto v = Get(env, "W4A16_INTERLEAVED")) {
    if (*v == "1") w4a16 = cc >= 70;
  }
  out["w4a16_interleaved"] = Bool(w4a16);
  return out;
}

}  // namespace kpolicy::testing
