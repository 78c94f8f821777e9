// Engine speed: loading + validating the default policy, one evaluation, and
// `eval --batch` over 100,000 cases (in-process, output to memory).
//
//   build/tools/bench/bench_engine [--cases N]
//
// Prints medians of repeated runs; the numbers go into README.md with the
// machine they came from.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "batch.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/policy_loader.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Cases as an operator's fleet sweep would have them: every compute
// capability, some SM counts, and zero to three override variables.
std::string MakeCases(int n) {
  static const char* kVars[] = {"HW_DP4A_Q4K", "MWV_WARPS", "FP8_PREFILL", "BATCHED_PREFILL",
                                "WIDE_Q4K", "DP4A_Q6K", "FUSED_GATE_UP", "W4A16_INTERLEAVED"};
  static const char* kValues[] = {"0", "1", "", "4"};
  std::mt19937 rng(7);
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "{\"cc\":\"" + std::to_string(3 + rng() % 10) + "." + std::to_string(rng() % 10) +
           "\",\"sms\":" + std::to_string(1 + rng() % 170) + ",\"env\":{";
    const int vars = static_cast<int>(rng() % 4);
    for (int v = 0; v < vars; ++v) {
      if (v) out += ",";
      out += "\"" + std::string(kVars[rng() % 8]) + "\":\"" + kValues[rng() % 4] + "\"";
    }
    out += "}}\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int cases = 100000;
  if (argc == 3 && std::string(argv[1]) == "--cases") cases = std::stoi(argv[2]);

  std::vector<double> load;
  for (int i = 0; i < 200; ++i) {
    auto t0 = Clock::now();
    auto p = kpolicy::LoadPolicyText(kpolicy::BuiltinDefaultPolicyText(), "builtin:default");
    auto t1 = Clock::now();
    if (!p.ok()) return 1;
    load.push_back(Seconds(t0, t1));
  }
  auto policy = kpolicy::LoadPolicyText(kpolicy::BuiltinDefaultPolicyText(), "builtin:default");

  const kpolicy::DeviceFacts h100 = kpolicy::FindCatalogDevice("h100")->ToFacts();
  kpolicy::Environment env;
  env.Set("MWV_WARPS", "4");
  env.Set("FP8_PREFILL", "0");
  std::vector<double> eval;
  size_t sink = 0;
  for (int round = 0; round < 21; ++round) {
    const int n = 20000;
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) sink += Evaluate(*policy, h100, env)->slots.size();
    auto t1 = Clock::now();
    eval.push_back(Seconds(t0, t1) / n);
  }

  const std::string input = MakeCases(cases);
  std::vector<double> batch;
  for (int round = 0; round < 5; ++round) {
    std::istringstream in(input);
    std::ostringstream out;
    auto t0 = Clock::now();
    kpolicy::tools::BatchResult r = kpolicy::tools::RunBatch(*policy, in, out);
    auto t1 = Clock::now();
    if (r.cases != static_cast<size_t>(cases) || r.errors != 0) return 1;
    batch.push_back(Seconds(t0, t1));
  }

  std::printf("load + validate + compile default policy: %8.1f us (median of 200)\n", Median(load) * 1e6);
  std::printf("one evaluation (h100, 2 variables set):   %8.2f us (median of 21 x 20000)\n", Median(eval) * 1e6);
  std::printf("eval --batch, %d cases:               %8.3f s  (median of 5; %.2f us per case)\n",
              cases, Median(batch), Median(batch) / cases * 1e6);
  return sink == 0;
}
