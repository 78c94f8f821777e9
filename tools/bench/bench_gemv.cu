// bench_gemv: times every Q4_K and Q6_K GEMV variant of the variant
// table (gemv_variants.h), the Q8_1 quantiser and the fused gate/up kernel at the
// decode shapes of Llama-3-8B and Qwen2.5-1.5B, for M = 1, 2, 4, 8, and
// compares each with the device's streaming-read bandwidth measured in the
// same run.
//
// Method (.library METHOD.md): weights are random valid blocks (never
// zeros); each measurement is a CUDA graph of L launches rotating among
// enough weight copies that together exceed 3x the L2 (read from the
// device), replayed with an event pair around each replay; the time per
// launch is the median over replays / L. So launch gaps inside a graph
// count, as they do in a decode step; the first replays are warm-up. The
// timer and the copy count are kernel_timing.h's, which `policyctl record`
// uses for its speed fields too.
// Bandwidth: weight bytes only (activations are L2-resident and shared).
// Ceilings: a read-reduce kernel over 1 GiB with 16-byte loads (the
// "stream" figure every ratio uses), and cudaMemcpy D2D of 1 GiB counted as
// read + write.
//
// Also a row "Mwv (v1)" (q4k): the pre-issue-12 Mwv kernel (gpu::LaunchQ4kMwvV1), a baseline
// outside the variant table; the issue-12 target lines and the Mwv-vs-fastest ratios close the
// report.
//
// Usage: bench_gemv [--out FILE] [--replays N] [--mwv-warps N] [--quick]
//                   [--filter S] [--m 1,2,..] [--gemv-only]
//   --out FILE   also write the results as YAML front matter + markdown tables
//   --quick      M = 1 only, fewer replays (a smoke run)
//   --filter S   only the GEMVs whose "op variant NxK" contains S (e.g.
//                "q4k HwDp4a 4096x14336"; for profiling one kernel)
//   --m LIST     these M only
//   --gemv-only  skip the quantiser and fused gate+up tables
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bench_support.cuh"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/kernel_timing.h"
#include "kpolicy/kernels/weights.h"

namespace {

namespace kernels = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;
using kpolicy::kernels::WeightFormat;

struct Options {
  std::string out;
  int replays = 25;
  int mwv_warps = 3;
  bool quick = false;
  std::string filter;      // --filter: only GEMVs whose "op variant NxK" contains it
  std::vector<int> ms;     // --m: activation rows (default 1,2,4,8; --quick: 1)
  bool gemv_only = false;  // --gemv-only: skip the quantiser and fused tables
  std::string command;
};

struct BenchShape {
  const char* model;
  const char* tensor;
  int64_t n, k;
};

constexpr BenchShape kShapes[] = {
    {"Llama-3-8B", "attn_q", 4096, 4096},   {"Llama-3-8B", "ffn_up", 14336, 4096},
    {"Llama-3-8B", "ffn_down", 4096, 14336}, {"Qwen2.5-1.5B", "attn_q", 1536, 1536},
    {"Qwen2.5-1.5B", "ffn_up", 8960, 1536}, {"Qwen2.5-1.5B", "ffn_down", 1536, 8960},
};

struct Result {
  std::string op, variant, shape;
  int64_t n, k;
  int m;
  double us, gbps, ratio;
  bool table_row = true;  // false: a baseline kernel or a launch mode, never "fastest"
};

using kpolicy::bench::DeviceMemory;
using kpolicy::bench::OrExit;

// `copies` device copies of the same host bytes, each 256-byte aligned.
struct WeightCopies {
  size_t stride = 0;
  int copies = 0;
  std::unique_ptr<DeviceMemory> memory;
  const void* copy(int i) const {
    return static_cast<const uint8_t*>(memory->ptr) + stride * static_cast<size_t>(i % copies);
  }
};

WeightCopies MakeCopies(const std::vector<uint8_t>& host, size_t l2_bytes) {
  WeightCopies c;
  c.stride = (host.size() + 255) / 256 * 256;
  c.copies = gpu::WeightCopiesToDefeatL2(static_cast<int64_t>(host.size()), static_cast<int64_t>(l2_bytes));
  c.memory = std::make_unique<DeviceMemory>(c.stride * c.copies);
  uint8_t* base = static_cast<uint8_t*>(c.memory->ptr);
  OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(base, host.data(), host.size(), cudaMemcpyHostToDevice)));
  for (int i = 1; i < c.copies; ++i) {
    OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(base + c.stride * i, base, host.size(), cudaMemcpyDeviceToDevice)));
  }
  return c;
}

// ---- Timing -------------------------------------------------------------------------

// Median microseconds per launch of `enqueue(stream, i)` for i = 0..launches-1,
// by the shared graph-replay method (kernel_timing.h: the one `policyctl
// record` uses too); a failure ends the benchmark.
double TimeLaunches(const std::function<void(cudaStream_t, int)>& enqueue, int launches, int replays) {
  const gpu::EnqueueLaunch launch = [&](kernels::StreamHandle stream, int i) {
    enqueue(static_cast<cudaStream_t>(stream), i);
    return kpolicy::Status();
  };
  return OrExit(gpu::MedianGraphLaunchMicroseconds(launch, launches, replays), "graph timing");
}

// ---- Ceilings -------------------------------------------------------------------------

__global__ void StreamReadKernel(const uint4* __restrict__ p, size_t count, unsigned* out) {
  unsigned acc = 0;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < count; i += 4 * stride) {
    const uint4 a = __ldg(p + i), b = __ldg(p + i + stride);
    const uint4 c = __ldg(p + i + 2 * stride), d = __ldg(p + i + 3 * stride);
    acc += (a.x ^ a.y ^ a.z ^ a.w) + (b.x ^ b.y ^ b.z ^ b.w) + (c.x ^ c.y ^ c.z ^ c.w) +
           (d.x ^ d.y ^ d.z ^ d.w);
  }
  for (; i < count; i += stride) {
    const uint4 a = __ldg(p + i);
    acc += a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x9E3779B9u) *out = acc;  // keeps the loads; (almost) never true
}

struct Ceilings {
  double stream_gbps = 0, d2d_gbps = 0;
};

Ceilings MeasureCeilings(int sms) {
  const size_t bytes = size_t{1} << 30;
  DeviceMemory a(bytes), b(bytes), out(64);
  OrExit(KPOLICY_CUDA_STATUS(cudaMemset(a.ptr, 0x5A, bytes)));
  Ceilings c;
  const int blocks = sms * 8;
  const double read_us = TimeLaunches(
      [&](cudaStream_t s, int) {
        StreamReadKernel<<<blocks, 256, 0, s>>>(static_cast<const uint4*>(a.ptr), bytes / 16,
                                               static_cast<unsigned*>(out.ptr));
      },
      4, 15);
  c.stream_gbps = bytes / (read_us * 1e3);
  const double copy_us = TimeLaunches(
      [&](cudaStream_t s, int) {
        OrExit(KPOLICY_CUDA_STATUS(cudaMemcpyAsync(b.ptr, a.ptr, bytes, cudaMemcpyDeviceToDevice, s)));
      },
      4, 11);
  c.d2d_gbps = 2.0 * bytes / (copy_us * 1e3);
  return c;
}

// ---- The benchmark ----------------------------------------------------------------------

std::string ShapeName(const BenchShape& s) {
  return std::string(s.model) + " " + s.tensor + " " + std::to_string(s.n) + "x" +
         std::to_string(s.k);
}

// `table`: the variants to measure (the built-in table; a build that adds a
// row measures it without a change here).
void Run(const Options& opt, kernels::GemvVariantTable table = kernels::BuiltinGemvVariants()) {
  int device = 0;
  OrExit(KPOLICY_CUDA_STATUS(cudaGetDevice(&device)));
  cudaDeviceProp prop{};
  OrExit(KPOLICY_CUDA_STATUS(cudaGetDeviceProperties(&prop, device)));
  int driver = 0, runtime = 0;
  OrExit(KPOLICY_CUDA_STATUS(cudaDriverGetVersion(&driver)));
  OrExit(KPOLICY_CUDA_STATUS(cudaRuntimeGetVersion(&runtime)));
  const size_t l2 = static_cast<size_t>(prop.l2CacheSize);
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::printf("device: %s, sm_%d%d, %d SMs, L2 %.1f MB, driver %d, runtime %d\n", prop.name,
              prop.major, prop.minor, prop.multiProcessorCount, l2 / 1e6, driver, runtime);

  const Ceilings ceil = MeasureCeilings(prop.multiProcessorCount);
  std::printf("stream read (1 GiB, 16-byte loads): %.0f GB/s; cudaMemcpy D2D (read+write): %.0f GB/s\n\n",
              ceil.stream_gbps, ceil.d2d_gbps);

  const std::vector<int> ms =
      !opt.ms.empty() ? opt.ms : (opt.quick ? std::vector<int>{1} : std::vector<int>{1, 2, 4, 8});
  const int replays = opt.quick ? 7 : opt.replays;
  std::vector<Result> results, quant_results, fused_results;

  // Activations: 8 rows per K, quantised per M on demand.
  std::map<int64_t, std::unique_ptr<DeviceMemory>> xs;
  auto x_for = [&](int64_t k) -> const float* {
    auto& slot = xs[k];
    if (!slot) {
      const std::vector<float> host = kpolicy::bench::RandomActivations(8 * k, static_cast<uint64_t>(k) * 7919 + 3);
      slot = std::make_unique<DeviceMemory>(host.size() * sizeof(float));
      OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(slot->ptr, host.data(), host.size() * sizeof(float),
                             cudaMemcpyHostToDevice)));
    }
    return static_cast<const float*>(slot->ptr);
  };
  int64_t max_n = 0, max_k = 0;
  for (const BenchShape& s : kShapes) max_n = std::max(max_n, s.n), max_k = std::max(max_k, s.k);
  DeviceMemory y(16 * max_n * sizeof(float));
  DeviceMemory q8(gpu::Q8_1ActivationBytes(8, max_k));

  std::printf("%-4s %-32s %2s %-11s %9s %9s %8s\n", "op", "shape", "M", "variant", "us", "GB/s",
              "%stream");
  for (kernels::GemvOp op : kernels::kGemvOps) {
    const WeightFormat format = kernels::GemvOpFormat(op);
    for (const BenchShape& s : kShapes) {
      auto selected = [&](const kernels::GemvVariant& v) {
        const std::string key = std::string(kernels::GemvOpName(op)) + " " + std::string(v.name) +
                                " " + std::to_string(s.n) + "x" + std::to_string(s.k);
        return opt.filter.empty() || key.find(opt.filter) != std::string::npos;
      };
      bool any = false;
      for (const kernels::GemvVariant* row : kernels::GemvVariantsOf(op, table)) any = any || selected(*row);
      if (!any) continue;
      const std::vector<uint8_t> host = kpolicy::bench::RandomWeightBytes(format, s.n, s.k, s.n * 31 + s.k);
      const WeightCopies w = MakeCopies(host, l2);
      const int launches = gpu::GraphLaunchesFor(w.copies);
      // The table's rows, plus (q4k) earlier kernels as named baseline rows outside the table
      // ("Mwv (v1)", "HwDp4a (v2)"), so each run shows old and new side by side, and the ring
      // variant launched as a programmatic dependent ("HwDp4a +pdl": GemvArgs::programmatic,
      // each launch's weight stream overlapping the previous launch's tail, as in a decode
      // step's chain of GEMVs).
      struct Row {
        kernels::GemvVariant variant;
        bool table_row = true;
        bool programmatic = false;
      };
      std::vector<Row> rows;
      for (const kernels::GemvVariant* row : kernels::GemvVariantsOf(op, table)) rows.push_back({*row});
      auto add_row = [&](const char* base, const char* name, kernels::GemvLaunchFn launch, bool pdl) {
        if (const kernels::GemvVariant* v = kernels::FindGemvVariant(op, base, table)) {
          Row r{*v, false, pdl};
          r.variant.name = name;
          if (launch != nullptr) r.variant.launch = launch;
          rows.push_back(r);
        }
      };
      if (op == kernels::GemvOp::kQ4K) {
        add_row("Mwv", "Mwv (v1)", &gpu::LaunchQ4kMwvV1, false);
        add_row("HwDp4a", "HwDp4a (v2)", &gpu::LaunchQ4kHwDp4aV2, false);
        add_row("HwDp4a", "HwDp4a +pdl", nullptr, true);
      }
      for (int m : ms) {
        OrExit(gpu::LaunchQuantizeQ8_1(x_for(s.k), m, s.k, q8.ptr, nullptr));
        OrExit(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
        for (const Row& row : rows) {
          const kernels::GemvVariant& v = row.variant;
          if (!selected(v)) continue;
          kernels::GemvArgs args;
          args.n = s.n;
          args.k = s.k;
          args.m = m;
          args.y = static_cast<float*>(y.ptr);
          args.mwv_warps = opt.mwv_warps;
          args.programmatic = row.programmatic;
          if (v.quantizes_activations()) {
            args.x_q8 = q8.ptr;
          } else {
            args.x = x_for(s.k);
          }
          const double us = TimeLaunches(
              [&](cudaStream_t stream, int i) {
                kernels::GemvArgs a = args;
                a.weights = w.copy(i);
                a.stream = stream;
                OrExit(v.launch(a));
              },
              launches, replays);
          const double gbps = host.size() / (us * 1e3);
          Result r{std::string(kernels::GemvOpName(op)), std::string(v.name), ShapeName(s), s.n, s.k,
                   m, us, gbps, gbps / ceil.stream_gbps, row.table_row};
          std::printf("%-4s %-32s %2d %-11s %9.2f %9.0f %7.1f%%\n", r.op.c_str(), r.shape.c_str(),
                      m, r.variant.c_str(), us, gbps, 100 * r.ratio);
          results.push_back(r);
        }
      }
    }
  }

  // Q8_1 quantisation: M*K floats read, 1.125*M*K bytes written.
  const std::vector<int64_t> quant_ks =
      opt.gemv_only ? std::vector<int64_t>{} : std::vector<int64_t>{1536, 4096, 8960, 14336};
  for (int64_t k : quant_ks) {
    for (int m : ms) {
      const float* x = x_for(k);
      const double us = TimeLaunches(
          [&](cudaStream_t stream, int) { OrExit(gpu::LaunchQuantizeQ8_1(x, m, k, q8.ptr, stream)); },
          20, replays);
      const double bytes = static_cast<double>(m) * k * (4 + 1.125);
      quant_results.push_back({"q8_1", "Quantize", "K=" + std::to_string(k), 0, k, m, us,
                               bytes / (us * 1e3), 0});
    }
  }

  // Fused gate/up vs two HwDp4a launches, at the FFN shapes.
  for (const BenchShape& s : kShapes) {
    if (opt.gemv_only || std::strcmp(s.tensor, "ffn_up") != 0) continue;
    const std::vector<uint8_t> host = kpolicy::bench::RandomWeightBytes(WeightFormat::kQ4K, s.n, s.k, s.n + s.k);
    const WeightCopies w = MakeCopies(host, l2);  // copy i = gate, i+1 = up
    const int launches = gpu::GraphLaunchesFor(w.copies);
    const kernels::GemvVariant* hw = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
    for (int m : ms) {
      OrExit(gpu::LaunchQuantizeQ8_1(x_for(s.k), m, s.k, q8.ptr, nullptr));
      OrExit(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
      const double fused_us = TimeLaunches(
          [&](cudaStream_t stream, int i) {
            gpu::FusedGateUpArgs a;
            a.gate = w.copy(2 * i);
            a.up = w.copy(2 * i + 1);
            a.x_q8 = q8.ptr;
            a.y = static_cast<float*>(y.ptr);
            a.n = s.n;
            a.k = s.k;
            a.m = m;
            a.stream = stream;
            OrExit(gpu::LaunchFusedGateUpQ4kHwDp4a(a));
          },
          launches, replays);
      const double separate_us = TimeLaunches(
          [&](cudaStream_t stream, int i) {
            for (int j = 0; j < 2; ++j) {
              kernels::GemvArgs a;
              a.weights = w.copy(2 * i + j);
              a.x_q8 = q8.ptr;
              a.y = static_cast<float*>(y.ptr) + j * 8 * s.n;  // gate, then up outputs
              a.n = s.n;
              a.k = s.k;
              a.m = m;
              a.stream = stream;
              OrExit(hw->launch(a));
            }
          },
          launches, replays);
      // The float-activation fused kernel (q4k Mwv's arithmetic) against two Mwv launches.
      const kernels::GemvVariant* mwv = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "Mwv");
      const double fused_mwv_us = TimeLaunches(
          [&](cudaStream_t stream, int i) {
            gpu::FusedGateUpArgs a;
            a.gate = w.copy(2 * i);
            a.up = w.copy(2 * i + 1);
            a.x = x_for(s.k);
            a.y = static_cast<float*>(y.ptr);
            a.n = s.n;
            a.k = s.k;
            a.m = m;
            a.stream = stream;
            OrExit(gpu::LaunchFusedGateUpQ4kMwv(a));
          },
          launches, replays);
      const double separate_mwv_us = TimeLaunches(
          [&](cudaStream_t stream, int i) {
            for (int j = 0; j < 2; ++j) {
              kernels::GemvArgs a;
              a.weights = w.copy(2 * i + j);
              a.x = x_for(s.k);
              a.y = static_cast<float*>(y.ptr) + j * 8 * s.n;
              a.n = s.n;
              a.k = s.k;
              a.m = m;
              a.stream = stream;
              OrExit(mwv->launch(a));
            }
          },
          launches, replays);
      const double bytes = 2.0 * host.size();
      fused_results.push_back({"q4k", "FusedGateUpMwv", ShapeName(s), s.n, s.k, m, fused_mwv_us,
                               bytes / (fused_mwv_us * 1e3), bytes / (fused_mwv_us * 1e3) / ceil.stream_gbps});
      fused_results.push_back({"q4k", "2xMwv", ShapeName(s), s.n, s.k, m, separate_mwv_us,
                               bytes / (separate_mwv_us * 1e3), bytes / (separate_mwv_us * 1e3) / ceil.stream_gbps});
      fused_results.push_back({"q4k", "FusedGateUp", ShapeName(s), s.n, s.k, m, fused_us,
                               bytes / (fused_us * 1e3), bytes / (fused_us * 1e3) / ceil.stream_gbps});
      fused_results.push_back({"q4k", "2xHwDp4a", ShapeName(s), s.n, s.k, m,
                               separate_us, bytes / (separate_us * 1e3),
                               bytes / (separate_us * 1e3) / ceil.stream_gbps});
    }
  }

  // ---- Report ----
  std::printf("\nQ8_1 quantisation (bytes = 4 read + 1.125 written per activation):\n");
  for (const Result& r : quant_results) {
    std::printf("  %-8s M=%d %8.2f us %8.0f GB/s\n", r.shape.c_str(), r.m, r.us, r.gbps);
  }
  std::printf("\nFused gate+up+SwiGLU (bytes = both matrices) vs two separate launches (Mwv, HwDp4a):\n");
  for (const Result& r : fused_results) {
    std::printf("  %-32s M=%d %-11s %8.2f us %8.0f GB/s %6.1f%%\n", r.shape.c_str(), r.m,
                r.variant.c_str(), r.us, r.gbps, 100 * r.ratio);
  }
  // Fastest per (op, shape, M), among the table's rows launched plainly.
  std::map<std::tuple<std::string, std::string, int>, const Result*> best;
  for (const Result& r : results) {
    if (!r.table_row) continue;
    auto key = std::make_tuple(r.op, r.shape, r.m);
    if (!best[key] || r.us < best[key]->us) best[key] = &r;
  }
  std::printf("\nFastest variant per shape (%% of stream read %.0f GB/s):\n", ceil.stream_gbps);
  for (const auto& [key, r] : best) {
    std::printf("  %-4s %-32s M=%d %-11s %8.2f us %6.1f%%\n", r->op.c_str(), r->shape.c_str(), r->m,
                r->variant.c_str(), r->us, 100 * r->ratio);
  }
  // Issue 12's targets (H200, ratios to this run's stream read).
  auto find = [&](const std::string& op, const std::string& variant, const std::string& shape,
                  int m) -> const Result* {
    for (const Result& r : results) {
      if (r.op == op && r.variant == variant && r.m == m && r.shape.find(shape) != std::string::npos) return &r;
    }
    return nullptr;
  };
  auto target = [&](const char* op, const char* variant, const char* shape, int m, double goal) {
    const Result* r = find(op, variant, shape, m);
    if (r == nullptr) return;
    std::printf("target %s %-6s %-10s M=%d: %6.2f us %5.1f%% of stream (goal >= %.0f%%) %s\n", op,
                variant, shape, m, r->us, 100 * r->ratio, 100 * goal,
                r->ratio >= goal ? "MET" : "MISSED");
  };
  std::printf("\nIssue 12 targets (plain launches, then the same with +pdl):\n");
  for (const char* variant : {"HwDp4a", "Mwv", "HwDp4a +pdl"}) {
    target("q4k", variant, "4096x14336", 1, 0.90);
    target("q4k", variant, "14336x4096", 1, 0.90);
    target("q4k", variant, " 4096x4096", 1, 0.80);
    target("q4k", variant, "1536x1536", 1, 0.80);
    target("q4k", variant, "8960x1536", 1, 0.80);
    target("q4k", variant, "1536x8960", 1, 0.80);
    target("q6k", variant, "4096x14336", 1, 0.85);
    target("q6k", variant, "14336x4096", 1, 0.85);
  }
  // M = 2, 4, 8: the best variant's effective weight bandwidth, and Mwv within 15% of the best
  // (Mwv time <= best time / 0.85).
  const std::map<int, double> best_goal = {{2, 0.70}, {4, 0.60}, {8, 0.50}};
  std::printf("\nMwv vs the fastest variant (time ratio best/Mwv; goal >= 0.85 at M = 2, 4, 8):\n");
  for (const auto& [key, b] : best) {
    const auto& [op, shape, m] = key;
    const Result* mwv = find(op, "Mwv", shape, m);
    if (mwv == nullptr) continue;
    const double ratio = b->us / mwv->us;
    std::printf("  %-4s %-32s M=%d best %-8s %7.2f us (%5.1f%%)  Mwv %7.2f us (%5.1f%%)  ratio %.2f",
                op.c_str(), shape.c_str(), m, b->variant.c_str(), b->us, 100 * b->ratio, mwv->us,
                100 * mwv->ratio, ratio);
    const bool goal_shape = shape.find("Llama-3-8B ffn") != std::string::npos;
    if (best_goal.count(m) != 0 && goal_shape) {
      std::printf("  Mwv-within-15%% %s  best>=%.0f%% %s", ratio >= 0.85 ? "MET" : "MISSED",
                  100 * best_goal.at(m), b->ratio >= best_goal.at(m) ? "MET" : "MISSED");
    }
    std::printf("\n");
  }

  if (opt.out.empty()) return;
  FILE* f = std::fopen(opt.out.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "bench_gemv: cannot write %s\n", opt.out.c_str());
    std::exit(1);
  }
  std::fprintf(f, "---\ntool: bench_gemv\ncommand: \"%s\"\ndate: %s\n", opt.command.c_str(), date);
  std::fprintf(f, "device:\n  name: \"%s\"\n  cc: %d%d\n  sms: %d\n  l2_bytes: %zu\n", prop.name,
               prop.major, prop.minor, prop.multiProcessorCount, l2);
  std::fprintf(f, "  driver_version: %d\n  runtime_version: %d\n", driver, runtime);
  std::fprintf(f, "method: \"%s\"\n", gpu::GraphTimingMethod(replays).c_str());
  std::fprintf(f, "mwv_warps: %d\n", opt.mwv_warps);
  std::fprintf(f, "ceilings:\n  stream_read_gbps: %.1f\n  memcpy_d2d_gbps: %.1f\n", ceil.stream_gbps,
               ceil.d2d_gbps);
  auto emit = [&](const char* key, const std::vector<Result>& rs) {
    std::fprintf(f, "%s:\n", key);
    for (const Result& r : rs) {
      std::fprintf(f,
                   "  - {op: %s, variant: %s, shape: \"%s\", n: %lld, k: %lld, m: %d, us: %.3f, "
                   "weight_gbps: %.1f, of_stream: %.4f}\n",
                   r.op.c_str(), r.variant.c_str(), r.shape.c_str(), static_cast<long long>(r.n),
                   static_cast<long long>(r.k), r.m, r.us, r.gbps, r.ratio);
    }
  };
  emit("gemv", results);
  emit("quantize_q8_1", quant_results);
  emit("fused_gate_up", fused_results);
  std::fprintf(f, "fastest:\n");
  for (const auto& [key, r] : best) {
    std::fprintf(f, "  - {op: %s, shape: \"%s\", m: %d, variant: %s, us: %.3f, of_stream: %.4f}\n",
                 r->op.c_str(), r->shape.c_str(), r->m, r->variant.c_str(), r->us, r->ratio);
  }
  std::fprintf(f, "---\n\n# bench_gemv on %s\n\nStream read %.0f GB/s, cudaMemcpy D2D %.0f GB/s.\n\n",
               prop.name, ceil.stream_gbps, ceil.d2d_gbps);
  std::fprintf(f, "| op | shape | M | variant | us | weight GB/s | of stream |\n|---|---|---|---|---|---|---|\n");
  for (const Result& r : results) {
    const bool fastest = best[std::make_tuple(r.op, r.shape, r.m)] == &r;
    std::fprintf(f, "| %s | %s | %d | %s%s | %.2f | %.0f | %.1f%% |\n", r.op.c_str(),
                 r.shape.c_str(), r.m, r.variant.c_str(), fastest ? " (fastest)" : "", r.us,
                 r.gbps, 100 * r.ratio);
  }
  std::fclose(f);
  std::printf("wrote %s\n", opt.out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 0; i < argc; ++i) opt.command += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_gemv: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--out") {
      opt.out = value();
    } else if (a == "--replays") {
      opt.replays = std::max(3, std::atoi(value().c_str()));
    } else if (a == "--mwv-warps") {
      opt.mwv_warps = std::atoi(value().c_str());
    } else if (a == "--quick") {
      opt.quick = true;
    } else if (a == "--filter") {
      opt.filter = value();
    } else if (a == "--gemv-only") {
      opt.gemv_only = true;
    } else if (a == "--m") {
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) {
        const int m = std::atoi(item.c_str());
        if (m < 1 || m > kernels::kMaxGemvRows) {
          std::fprintf(stderr, "bench_gemv: --m takes 1..%d\n", kernels::kMaxGemvRows);
          return 2;
        }
        opt.ms.push_back(m);
      }
    } else {
      std::fprintf(stderr, "usage: bench_gemv [--out FILE] [--replays N] [--mwv-warps N] [--quick] [--filter S] [--m 1,2,..] [--gemv-only]\n");
      return 2;
    }
  }
  if (!kpolicy::bench::HaveCudaDevice("bench_gemv")) return 1;
  Run(opt);
  return 0;
}
