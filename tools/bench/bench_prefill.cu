// bench_prefill: the GEMM paths of gemm_paths.h at Llama-3-8B shapes
// (attn_q 4096x4096, ffn_up 14336x4096, ffn_down 4096x14336, N x K):
//  - prefill T = 128, 512, 2048: FP8 cuBLASLt vs FP16 cuBLAS, each as the
//    whole path (activation conversion included) and as the library GEMM
//    alone, plus the FP8 activation quantisation alone (absmax, scale,
//    E4M3 encode), in TFLOP/s (2 T N K flops), against the dense FP8 (and
//    FP16) peak measured here with an 8192^3 product; tools/bench/
//    compare_fp8.py joins these rows with fp8_prefill_torch.py's
//    (torch._scaled_mm) into one table;
//  - decode M = 2, 4, 8: W4A16 (interleaved Q4_K, WMMA) and the FP8 path vs
//    the HwDp4a GEMV with its Q8_1 quantisation (the fastest GEMV variant on
//    sm_75+ in bench_gemv, gemv_variants.h);
//  - M = 1: cuBLAS HGEMM on cached FP16 weights vs HwDp4a.
// Method (.library METHOD.md): weights are random valid Q4_K blocks (never
// zeros), activations random finite values; kernel_timing.h's flushed-call
// timer (shared with `policyctl record`): before each timed call the L2 is
// flushed (cudaMemsetAsync over 2x its size, outside the event pair), so
// the weights come from device memory; 3 warm-up calls, then the median of
// --repeats calls timed with CUDA events on one stream.
//
// The FP8 peak (kernels/cuda/PERF_NOTES.md, "The FP8 peak"): the 8192^3
// product is called exactly as the path calls it (Fp8Matmul: TN, E4M3
// A and B, FP32 C = D, each scale a float in an allocation of its own). The
// first H100 run (tools/bench/results/prefill-h100-2026-11-25.log) passed the
// B scale as the second float of A's 8-byte allocation (4-byte aligned),
// the only way that call differed from the path's, and cuBLASLt refused it
// (NOT_SUPPORTED) at 8192^3 and 4096^3 while the path's products ran. The
// run prints both calls' outcome ("FP8 peak probe"), so the cause is
// confirmed or ruled out on the device; without a peak the run fails.
//
// Usage: bench_prefill [--out FILE] [--repeats N] [--quick]
//   --out FILE  also write YAML front matter + markdown tables (as bench_gemv)
//   --quick     T = 128 and M = 2 only, 5 repeats (a smoke run)
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kpolicy/kernels/gemm_paths.h"
#include "bench_support.cuh"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/kernel_timing.h"
#include "kpolicy/kernels/weights.h"

namespace {

namespace kernels = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;
using kpolicy::kernels::WeightFormat;

struct Options {
  std::string out, command;
  int repeats = 21;
  bool quick = false;
};

struct Shape {
  const char* tensor;
  int64_t n, k;
};
constexpr Shape kShapes[] = {{"attn_q", 4096, 4096}, {"ffn_up", 14336, 4096}, {"ffn_down", 4096, 14336}};

struct Row {
  std::string section, shape, variant;
  int64_t m;
  double us;
  // None where the figure does not exist: the quantisation row is no GEMM
  // (no TFLOP/s), and the FP16 peak has no ratio when the FP8 peak was not
  // measured (written as "-" and null, never as inf or 0).
  std::optional<double> tflops;
  std::optional<double> ratio;  // section-specific (vs FP16, vs HwDp4a, vs peak)
  int64_t n = 0, k = 0;         // the product's N and K (a peak: the cube's side)
};

// A cell of the tables: the figure with `format`, or `none`.
std::string Cell(const std::optional<double>& v, const char* format, const char* none) {
  if (!v) return none;
  char buf[32];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

using kpolicy::bench::DeviceMemory;
using kpolicy::bench::OrExit;

std::unique_ptr<DeviceMemory> RandomFloats(int64_t count, uint64_t seed) {
  const std::vector<float> host = kpolicy::bench::RandomActivations(count, seed + 7);
  auto mem = std::make_unique<DeviceMemory>(host.size() * sizeof(float));
  OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(mem->ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice)));
  return mem;
}

// The shared flushed-call timer (kernel_timing.h); a failure ends the run.
class Timer {
 public:
  Timer(cudaStream_t stream, int repeats) : timer_(OrExit(gpu::FlushedTimer::Create(stream, repeats), "timer")) {}
  // Median microseconds of enqueue(stream), L2 flushed before each call.
  double Median(const std::function<kpolicy::Status(cudaStream_t)>& enqueue) {
    return OrExit(timer_.Median([&](kernels::StreamHandle stream, int) {
      return enqueue(static_cast<cudaStream_t>(stream));
    }));
  }
  int repeats() const { return timer_.repeats(); }

 private:
  gpu::FlushedTimer timer_;
};

double Tflops(double m, double n, double k, double us) { return 2.0 * m * n * k / (us * 1e6); }

std::string Dims(int64_t m, int64_t n, int64_t k) {
  return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

// What one call of the FP8 peak's product said: a probe the report keeps.
struct PeakProbe {
  std::string call, outcome;
};

// Returns false when the device has FP8 but no FP8 peak could be measured
// (the report says why; main exits 1).
bool Run(const Options& opt) {
  int device = 0, driver = 0, runtime = 0;
  OrExit(KPOLICY_CUDA_STATUS(cudaGetDevice(&device)));
  cudaDeviceProp prop{};
  OrExit(KPOLICY_CUDA_STATUS(cudaGetDeviceProperties(&prop, device)));
  OrExit(KPOLICY_CUDA_STATUS(cudaDriverGetVersion(&driver)));
  OrExit(KPOLICY_CUDA_STATUS(cudaRuntimeGetVersion(&runtime)));
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::printf("device: %s, sm_%d%d, %d SMs, L2 %.1f MB, driver %d, runtime %d\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, prop.l2CacheSize / 1e6, driver, runtime);
  const bool fp8 = gpu::CheckFp8Capability(prop.major, prop.minor).ok();
  if (!fp8) {
    std::printf("FP8 rows skipped: %s\n", gpu::CheckFp8Capability(prop.major, prop.minor).error().ToString().c_str());
  }

  cudaStream_t stream;
  OrExit(KPOLICY_CUDA_STATUS(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)));
  auto ctx = OrExit(gpu::GemmContext::Create(stream), "GemmContext::Create");
  const int repeats = opt.quick ? 5 : opt.repeats;
  Timer timer(stream, repeats);
  std::vector<Row> rows;
  auto sync = [&] { OrExit(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize())); };

  // ---- Peaks: 8192^3 ----
  const int64_t p = 8192;
  double fp8_peak = 0, f16_peak = 0;
  std::string fp8_peak_dims, fp8_peak_error;
  std::vector<PeakProbe> probes;
  {
    DeviceMemory a(p * p), b(p * p), a16(2 * p * p), b16(2 * p * p), y(4 * p * p);
    // Each scale a float of its own allocation, as the path has them (the
    // weights' scale in GemmWeights, the activations' in the context's
    // scratch); `shared` holds two floats: the first run's layout.
    DeviceMemory a_scale(sizeof(float)), b_scale(sizeof(float)), shared(2 * sizeof(float));
    const float ones[2] = {1.0f, 1.0f};
    for (const DeviceMemory* m : {&a_scale, &b_scale}) {
      OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(m->ptr, ones, sizeof(float), cudaMemcpyHostToDevice)));
    }
    OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(shared.ptr, ones, sizeof ones, cudaMemcpyHostToDevice)));
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(a.ptr, 0x33, p * p)));  // 0.6875 in E4M3
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(b.ptr, 0xB1, p * p)));  // -0.5625
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(a16.ptr, 0x3A, 2 * p * p)));  // 0.7578 in fp16
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(b16.ptr, 0xB5, 2 * p * p)));
    if (fp8) {
      struct Call {
        int64_t m;
        const float* b_scale;
        const char* how;
      };
      // The path's call at 8192^3; the first run's (B scale 4 bytes into
      // A's allocation) only to report what cuBLASLt says to it; and, should
      // the cube be refused, the path's call at M = 2048 (the largest M of
      // the prefill rows, which ran on the H100) with N = K = 8192.
      const Call path_cube{p, b_scale.as<float>(), "each scale in its own allocation (the path's call)"};
      const Call first_run{p, shared.as<float>() + 1, "B scale at +4 bytes of A's allocation (the first run's call)"};
      const Call path_m2048{2048, b_scale.as<float>(), "each scale in its own allocation, M = 2048"};
      auto call = [&](const Call& c) {
        return gpu::Fp8Matmul(ctx, a.as<uint8_t>(), a_scale.as<float>(), b.as<uint8_t>(), c.b_scale, c.m, p, p,
                              y.as<float>());
      };
      auto probe = [&](const Call& c) {
        const kpolicy::Status st = call(c);
        sync();
        probes.push_back({Dims(c.m, p, p) + ", " + c.how, st.ok() ? "runs" : st.error().ToString()});
        std::printf("FP8 peak probe %s: %s\n", probes.back().call.c_str(), probes.back().outcome.c_str());
        return st.ok();
      };
      std::optional<Call> peak_call;
      if (probe(path_cube)) peak_call = path_cube;
      probe(first_run);
      if (!peak_call && probe(path_m2048)) peak_call = path_m2048;
      if (peak_call) {
        const double us = timer.Median([&](cudaStream_t) { return call(*peak_call); });
        fp8_peak = Tflops(peak_call->m, p, p, us);
        fp8_peak_dims = Dims(peak_call->m, p, p);
        rows.push_back({"peak", fp8_peak_dims, "fp8_cublaslt", peak_call->m, us, fp8_peak, 1.0, p, p});
      } else {
        fp8_peak_error = "cuBLASLt refused every FP8 peak call (see fp8_peak_probes)";
      }
    }
    const double us16 = timer.Median([&](cudaStream_t) { return gpu::F16Matmul(ctx, a16.ptr, b16.ptr, p, p, p, y.as<float>()); });
    f16_peak = Tflops(p, p, p, us16);
    rows.push_back({"peak", Dims(p, p, p), "f16_cublas", p, us16, f16_peak,
                    fp8_peak > 0 ? std::optional<double>(f16_peak / fp8_peak) : std::nullopt, p, p});
  }
  std::printf("dense peak: FP8 cuBLASLt %.0f TFLOP/s (%s), FP16 cuBLAS (FP32 accumulate, 8192^3) %.0f TFLOP/s\n\n",
              fp8_peak, fp8_peak > 0 ? fp8_peak_dims.c_str() : "NOT MEASURED", f16_peak);

  const std::vector<int64_t> ts = opt.quick ? std::vector<int64_t>{128} : std::vector<int64_t>{128, 512, 2048};
  const std::vector<int> ms = opt.quick ? std::vector<int>{2} : std::vector<int>{2, 4, 8};
  const kernels::GemvVariant* hw = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  std::printf("%-10s %-20s %5s %-28s %10s %9s %8s\n", "section", "shape", "M/T", "variant", "us", "TFLOP/s",
              "ratio");
  auto print = [&](const Row& r) {
    std::printf("%-10s %-20s %5lld %-28s %10.2f %9s %8s\n", r.section.c_str(), r.shape.c_str(),
                static_cast<long long>(r.m), r.variant.c_str(), r.us, Cell(r.tflops, "%.2f", "-").c_str(),
                Cell(r.ratio, "%.3f", "-").c_str());
    rows.push_back(r);
  };

  for (const Shape& s : kShapes) {
    const std::string shape = std::string(s.tensor) + " " + std::to_string(s.n) + "x" + std::to_string(s.k);
    const std::vector<uint8_t> host = kpolicy::bench::RandomWeightBytes(WeightFormat::kQ4K, s.n, s.k, s.n * 31 + s.k);
    const kpolicy::kernels::WeightView view{WeightFormat::kQ4K, s.n, s.k, host, 1.0f};
    std::unique_ptr<gpu::GemmWeights> w8;
    if (fp8) w8 = std::make_unique<gpu::GemmWeights>(OrExit(gpu::GemmWeights::Create(ctx, gpu::GemmPath::kFp8Lt, view), "FP8 weights"));
    auto w16 = OrExit(gpu::GemmWeights::Create(ctx, gpu::GemmPath::kF16Cublas, view), "FP16 weights");
    auto wil = OrExit(gpu::GemmWeights::Create(ctx, gpu::GemmPath::kW4a16Interleaved, view), "W4A16 weights");
    auto wq = OrExit(gpu::GemmWeights::Create(ctx, gpu::GemmPath::kGemvLoop, view), "Q4_K weights");
    const int64_t tmax = ts.back();
    auto x = RandomFloats(tmax * s.k, s.k);
    DeviceMemory y(4 * tmax * s.n), x8(tmax * s.k), x16(2 * tmax * s.k), xs(8), absmax(8),
        q8(gpu::Q8_1ActivationBytes(8, s.k));

    // ---- Prefill ----
    for (int64_t t : ts) {
      const int m = static_cast<int>(t);
      auto quantise = [&](cudaStream_t st) {
        return gpu::LaunchQuantizeFp8PerTensor(x->as<float>(), t * s.k, x8.as<uint8_t>(), xs.as<float>(),
                                               absmax.as<uint32_t>(), st);
      };
      OrExit(quantise(stream));
      {  // x in FP16 for the GEMM-only timing: the path's own conversion, once.
        std::vector<uint16_t> h(t * s.k);
        std::vector<float> f(t * s.k);
        OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(f.data(), x->ptr, f.size() * 4, cudaMemcpyDeviceToHost)));
        for (size_t i = 0; i < f.size(); ++i) h[i] = kpolicy::kernels::FloatToHalf(f[i]);
        OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(x16.ptr, h.data(), h.size() * 2, cudaMemcpyHostToDevice)));
      }
      const double f16_path = timer.Median([&](cudaStream_t) { return gpu::RunGemm(ctx, w16, x->as<float>(), m, y.as<float>()); });
      const double f16_gemm = timer.Median([&](cudaStream_t) {
        return gpu::F16Matmul(ctx, w16.device_data(), x16.ptr, t, s.n, s.k, y.as<float>());
      });
      print({"prefill", shape, "f16_cublas path", t, f16_path, Tflops(t, s.n, s.k, f16_path), 1.0, s.n, s.k});
      print({"prefill", shape, "f16_cublas gemm", t, f16_gemm, Tflops(t, s.n, s.k, f16_gemm), 1.0, s.n, s.k});
      if (fp8) {
        const double fp8_path = timer.Median([&](cudaStream_t) { return gpu::RunGemm(ctx, *w8, x->as<float>(), m, y.as<float>()); });
        const double fp8_gemm = timer.Median([&](cudaStream_t) {
          return gpu::Fp8Matmul(ctx, static_cast<const uint8_t*>(w8->device_data()), w8->device_fp8_scale(),
                                x8.as<uint8_t>(), xs.as<float>(), t, s.n, s.k, y.as<float>());
        });
        const double fp8_quant = timer.Median(quantise);
        print({"prefill", shape, "fp8_cublaslt path", t, fp8_path, Tflops(t, s.n, s.k, fp8_path), f16_path / fp8_path, s.n, s.k});
        print({"prefill", shape, "fp8_cublaslt gemm", t, fp8_gemm, Tflops(t, s.n, s.k, fp8_gemm), f16_gemm / fp8_gemm, s.n, s.k});
        // ratio: the quantisation's share of the path's time.
        print({"prefill", shape, "fp8 activation quantisation", t, fp8_quant, std::nullopt, fp8_quant / fp8_path, s.n, s.k});
        char of_peak[32] = "n/a (no FP8 peak)";
        if (fp8_peak > 0) std::snprintf(of_peak, sizeof of_peak, "%.0f%%", 100 * Tflops(t, s.n, s.k, fp8_gemm) / fp8_peak);
        std::printf("  FP8/FP16 speedup T=%lld: path %.2fx (aim >= 1.5x) %s, GEMM %.2fx %s; FP8 GEMM at %s of FP8 peak\n",
                    static_cast<long long>(t), f16_path / fp8_path, f16_path / fp8_path >= 1.5 ? "MET" : "MISSED",
                    f16_gemm / fp8_gemm, f16_gemm / fp8_gemm >= 1.5 ? "MET" : "MISSED", of_peak);
      }
    }

    // The best GEMV variant with its Q8_1 quantisation: what the GEMM paths
    // replace at decode.
    auto time_hw_dp4a = [&](int m) {
      return timer.Median([&](cudaStream_t st) -> kpolicy::Status {
        KPOLICY_TRY(gpu::LaunchQuantizeQ8_1(x->as<float>(), m, s.k, q8.ptr, st));
        kernels::GemvArgs a;
        a.weights = wq.device_data();
        a.x_q8 = q8.ptr;
        a.y = y.as<float>();
        a.n = s.n;
        a.k = s.k;
        a.m = m;
        a.stream = st;
        return hw->launch(a);
      });
    };

    // ---- Decode ----
    for (int m : ms) {
      const double dp4a = time_hw_dp4a(m);
      const double w4 = timer.Median([&](cudaStream_t) { return gpu::RunGemm(ctx, wil, x->as<float>(), m, y.as<float>()); });
      print({"decode", shape, "q4k HwDp4a + Q8_1", m, dp4a, Tflops(m, s.n, s.k, dp4a), 1.0, s.n, s.k});
      print({"decode", shape, "w4a16_interleaved", m, w4, Tflops(m, s.n, s.k, w4), dp4a / w4, s.n, s.k});
      if (fp8) {
        const double f8 = timer.Median([&](cudaStream_t) { return gpu::RunGemm(ctx, *w8, x->as<float>(), m, y.as<float>()); });
        print({"decode", shape, "fp8_cublaslt path", m, f8, Tflops(m, s.n, s.k, f8), dp4a / f8, s.n, s.k});
      }
    }
    // ---- M = 1 ----
    {
      const double dp4a = time_hw_dp4a(1);
      const double hgemm = timer.Median([&](cudaStream_t) { return gpu::RunGemm(ctx, w16, x->as<float>(), 1, y.as<float>()); });
      print({"m1", shape, "q4k HwDp4a + Q8_1", 1, dp4a, Tflops(1, s.n, s.k, dp4a), 1.0, s.n, s.k});
      print({"m1", shape, "hgemm f16_cublas path", 1, hgemm, Tflops(1, s.n, s.k, hgemm), dp4a / hgemm, s.n, s.k});
    }
  }
  OrExit(KPOLICY_CUDA_STATUS(cudaStreamSynchronize(stream)));
  std::printf("\nratio: prefill = FP16 time / this time (same kind: path or gemm), the quantisation row its share of"
              " the FP8 path; decode and m1 = HwDp4a time / this time; peak = FP16 peak / FP8 peak\n");
  const bool peak_ok = !fp8 || fp8_peak > 0;
  if (!peak_ok) std::fprintf(stderr, "bench_prefill: error: no FP8 peak: %s\n", fp8_peak_error.c_str());

  if (opt.out.empty()) return peak_ok;
  FILE* f = std::fopen(opt.out.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "bench_prefill: cannot write %s\n", opt.out.c_str());
    std::exit(1);
  }
  std::fprintf(f, "---\ntool: bench_prefill\ncommand: \"%s\"\ndate: %s\n", opt.command.c_str(), date);
  std::fprintf(f, "device:\n  name: \"%s\"\n  cc: %d%d\n  sms: %d\n  l2_bytes: %d\n", prop.name, prop.major,
               prop.minor, prop.multiProcessorCount, prop.l2CacheSize);
  std::fprintf(f, "  driver_version: %d\n  runtime_version: %d\n", driver, runtime);
  std::fprintf(f, "method: \"%s\"\n", gpu::FlushedTimingMethod(timer.repeats()).c_str());
  std::fprintf(f, "peaks:\n  fp8_cublaslt_tflops: %.1f\n  fp8_cublaslt_dims: \"%s\"\n  f16_cublas_8192_tflops: %.1f\n",
               fp8_peak, fp8_peak_dims.c_str(), f16_peak);
  if (!fp8_peak_error.empty()) std::fprintf(f, "  fp8_peak_error: \"%s\"\n", fp8_peak_error.c_str());
  std::fprintf(f, "fp8_peak_probes:\n");
  for (const PeakProbe& pr : probes) {
    std::string outcome = pr.outcome;
    std::replace(outcome.begin(), outcome.end(), '"', '\'');
    std::fprintf(f, "  - {call: \"%s\", outcome: \"%s\"}\n", pr.call.c_str(), outcome.c_str());
  }
  std::fprintf(f, "results:\n");
  for (const Row& r : rows) {
    std::fprintf(f,
                 "  - {section: %s, shape: \"%s\", n: %lld, k: %lld, m: %lld, variant: \"%s\", us: %.3f, tflops: %s, "
                 "ratio: %s}\n",
                 r.section.c_str(), r.shape.c_str(), static_cast<long long>(r.n), static_cast<long long>(r.k),
                 static_cast<long long>(r.m), r.variant.c_str(), r.us, Cell(r.tflops, "%.3f", "null").c_str(),
                 Cell(r.ratio, "%.4f", "null").c_str());
  }
  std::fprintf(f, "---\n\n# bench_prefill on %s\n\nDense peaks: FP8 %.0f TFLOP/s (%s), FP16 %.0f TFLOP/s (8192^3).\n\n",
               prop.name, fp8_peak, fp8_peak > 0 ? fp8_peak_dims.c_str() : "not measured", f16_peak);
  std::fprintf(f, "Ratio: prefill = FP16 time / this time (the quantisation row: its share of the FP8 path); "
                  "decode and m1 = HwDp4a (with Q8_1) time / this time.\n\n");
  std::fprintf(f, "| section | shape | M/T | variant | us | TFLOP/s | ratio |\n|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::fprintf(f, "| %s | %s | %lld | %s | %.2f | %s | %s |\n", r.section.c_str(), r.shape.c_str(),
                 static_cast<long long>(r.m), r.variant.c_str(), r.us, Cell(r.tflops, "%.2f", "-").c_str(),
                 Cell(r.ratio, "%.3f", "-").c_str());
  }
  std::fclose(f);
  std::printf("wrote %s\n", opt.out.c_str());
  return peak_ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 0; i < argc; ++i) opt.command += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      opt.out = argv[++i];
    } else if (a == "--repeats" && i + 1 < argc) {
      opt.repeats = std::max(3, std::atoi(argv[++i]));
    } else if (a == "--quick") {
      opt.quick = true;
    } else {
      std::fprintf(stderr, "usage: bench_prefill [--out FILE] [--repeats N] [--quick]\n");
      return 2;
    }
  }
  if (!kpolicy::bench::HaveCudaDevice("bench_prefill")) return 1;
  return Run(opt) ? 0 : 1;
}
