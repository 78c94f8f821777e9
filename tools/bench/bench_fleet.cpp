// Fleet speed, phase by phase: reading a `kubectl get nodes -o json`
// inventory, parsing it into nodes, evaluating the distinct devices, and the
// whole `policyctl fleet` and `policyctl diff` in-process (output to memory).
//
//   python3 tools/bench/gen_inventory.py 100000 nodes.json
//   build/tools/bench/bench_fleet nodes.json [--repeat N]
//
// Prints, per phase, the median wall time and the process CPU time (user +
// sys) of N runs (default 3); on a shared machine the CPU time is the
// steadier figure. The phases say where the time of `policyctl fleet` goes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "kpolicy/evaluation_budget.h"
#include "fleet_evaluation.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/inventory.h"
#include "kpolicy/policy_loader.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
  double wall = 0, cpu = 0;
};

// Runs `phase` `repeat` times; the median wall and median CPU seconds.
Timing Measure(int repeat, const std::function<void()>& phase) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < repeat; ++i) {
    const double c0 = CpuSeconds();
    const auto t0 = Clock::now();
    phase();
    wall.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    cpu.push_back(CpuSeconds() - c0);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

void Print(const char* what, Timing t) { std::printf("%-44s %8.3f s wall %8.3f s CPU\n", what, t.wall, t.cpu); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_fleet NODES.json [--repeat N]\n");
    return 2;
  }
  const std::string file = argv[1];
  const int repeat = argc >= 4 && std::string(argv[2]) == "--repeat" ? std::max(1, std::atoi(argv[3])) : 3;
  namespace kt = kpolicy::tools;

  std::string text;
  // policyctl maps the file (LoadInventoryFile); here it is read once so the
  // next phase times the parse alone.
  Print("read the file into memory", Measure(repeat, [&] {
          std::ifstream in(file, std::ios::binary | std::ios::ate);
          text.resize(static_cast<size_t>(in.tellg()));
          in.seekg(0);
          in.read(text.data(), static_cast<std::streamsize>(text.size()));
        }));
  std::printf("%zu bytes\n", text.size());

  kpolicy::Inventory inventory;
  Print("parse + resolve nodes (ReadKubectlNodes)", Measure(repeat, [&] {
          auto read = kpolicy::ReadKubectlNodes(text, file);
          if (!read.ok()) {
            std::fprintf(stderr, "%s\n", read.error().ToString().c_str());
            std::exit(1);
          }
          inventory = std::move(read).value();
        }));
  std::printf("%zu GPU nodes, %zu skipped\n", inventory.nodes.size(), inventory.skipped.size());

  auto policy = kpolicy::LoadPolicyText(kpolicy::BuiltinDefaultPolicyText(), "builtin:default");
  size_t distinct = 0;
  Print("distinct devices + evaluation", Measure(repeat, [&] {
          const kt::FleetNodes nodes = kt::NodesOfInventory(inventory);
          const kt::DistinctFacts d = kt::IndexDistinctFacts(nodes.nodes);
          kpolicy::EvaluationBudget budget;
          distinct = kt::EvaluateDistinct(*policy, d, kpolicy::Environment(), budget).size();
        }));
  std::printf("%zu distinct devices\n", distinct);

  size_t bytes = 0;
  Print("policyctl fleet --format json (in-process)", Measure(repeat, [&] {
          bytes = kt::RunPolicyctlCaptured({"fleet", "--inventory", file, "--format", "json"}).out.size();
        }));
  std::printf("%zu bytes of output\n", bytes);
  const std::string guard = std::string(KPOLICY_SOURCE_DIR) + "/policies/fleets/blackwell-fp8-guard.yaml";
  Print("policyctl diff --format json (in-process)", Measure(repeat, [&] {
          bytes = kt::RunPolicyctlCaptured({"diff", "--policy", std::string(KPOLICY_SOURCE_DIR) + "/policies/default.yaml",
                                            "--policy", guard, "--inventory", file, "--format", "json"})
                      .out.size();
        }));
  std::printf("%zu bytes of output\n", bytes);
  return 0;
}
