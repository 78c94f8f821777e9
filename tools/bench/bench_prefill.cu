// bench_prefill: the GEMM paths of gemm_paths.h at Llama-3-8B shapes
// (attn_q 4096x4096, ffn_up 14336x4096, ffn_down 4096x14336, N x K):
//  - prefill T = 128, 512, 2048: FP8 cuBLASLt vs FP16 cuBLAS, each as the
//    whole path (activation conversion included) and as the library GEMM
//    alone, in TFLOP/s (2 T N K flops), against the dense FP8 (and FP16)
//    peak measured here with an 8192^3 product;
//  - decode M = 2, 4, 8: W4A16 (interleaved Q4_K, WMMA) and the FP8 path vs
//    the HwDp4a GEMV with its Q8_1 quantisation (the fastest GEMV variant on
//    sm_75+ in bench_gemv, gemv_variants.h);
//  - M = 1: cuBLAS HGEMM on cached FP16 weights vs HwDp4a.
// Method (.library METHOD.md): weights are random valid Q4_K blocks (never
// zeros), activations random finite values; before each timed call the L2
// is flushed (cudaMemsetAsync over 2x its size, outside the event pair), so
// the weights come from device memory; 3 warm-up calls, then the median of
// --repeats calls timed with CUDA events on one stream.
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
#include <string>
#include <vector>

#include "kpolicy/kernels/gemm_paths.h"
#include "bench_support.cuh"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/half.h"
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
  double us, tflops, ratio;  // ratio: section-specific (vs FP16, vs HwDp4a, vs peak)
};

using kpolicy::bench::DeviceMemory;
using kpolicy::bench::OrExit;

std::unique_ptr<DeviceMemory> RandomFloats(int64_t count, uint64_t seed) {
  const std::vector<float> host = kpolicy::bench::RandomActivations(count, seed + 7);
  auto mem = std::make_unique<DeviceMemory>(host.size() * sizeof(float));
  OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(mem->ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice)));
  return mem;
}

class Timer {
 public:
  Timer(cudaStream_t stream, size_t l2_bytes, int repeats)
      : stream_(stream), flush_bytes_(2 * std::max<size_t>(l2_bytes, 1 << 20)), flush_(flush_bytes_),
        repeats_(repeats) {
    OrExit(KPOLICY_CUDA_STATUS(cudaEventCreate(&start_)));
    OrExit(KPOLICY_CUDA_STATUS(cudaEventCreate(&stop_)));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  // Median microseconds of enqueue(stream), L2 flushed before each call.
  double Median(const std::function<void(cudaStream_t)>& enqueue) {
    std::vector<double> times;
    for (int i = -3; i < repeats_; ++i) {
      OrExit(KPOLICY_CUDA_STATUS(cudaMemsetAsync(flush_.ptr, i & 0xFF, flush_bytes_, stream_)));
      OrExit(KPOLICY_CUDA_STATUS(cudaEventRecord(start_, stream_)));
      enqueue(stream_);
      OrExit(KPOLICY_CUDA_STATUS(cudaEventRecord(stop_, stream_)));
      OrExit(KPOLICY_CUDA_STATUS(cudaEventSynchronize(stop_)));
      OrExit(KPOLICY_CUDA_STATUS(cudaGetLastError()));
      float ms = 0;
      OrExit(KPOLICY_CUDA_STATUS(cudaEventElapsedTime(&ms, start_, stop_)));
      if (i >= 0) times.push_back(1000.0 * ms);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

 private:
  cudaStream_t stream_;
  size_t flush_bytes_;
  DeviceMemory flush_;
  int repeats_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

double Tflops(double m, double n, double k, double us) { return 2.0 * m * n * k / (us * 1e6); }

void Run(const Options& opt) {
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
  Timer timer(stream, static_cast<size_t>(prop.l2CacheSize), repeats);
  std::vector<Row> rows;

  // ---- Peaks: 8192^3 ----
  const int64_t p = 8192;
  double fp8_peak = 0, f16_peak = 0;
  {
    DeviceMemory a(p * p), b(p * p), a16(2 * p * p), b16(2 * p * p), y(4 * p * p), scales(8);
    const float ones[2] = {1.0f, 1.0f};
    OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(scales.ptr, ones, sizeof ones, cudaMemcpyHostToDevice)));
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(a.ptr, 0x33, p * p)));  // 0.6875 in E4M3
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(b.ptr, 0xB1, p * p)));  // -0.5625
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(a16.ptr, 0x3A, 2 * p * p)));  // 0.7578 in fp16
    OrExit(KPOLICY_CUDA_STATUS(cudaMemset(b16.ptr, 0xB5, 2 * p * p)));
    if (fp8) {
      // cuBLASLt has refused the 8192^3 FP8 product with an FP32 output on
      // the H100 (CUBLAS_STATUS_NOT_SUPPORTED at the matmul, after the
      // heuristic offered an algorithm): fall back to the largest cube it
      // runs, and say so.
      for (const int64_t cube : {p, p / 2}) {
        const kpolicy::Status probe = gpu::Fp8Matmul(ctx, a.as<uint8_t>(), scales.as<float>(), b.as<uint8_t>(),
                                                     scales.as<float>() + 1, cube, cube, cube, y.as<float>());
        OrExit(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
        if (!probe.ok()) {
          std::printf("FP8 peak at %lld^3: %s\n", static_cast<long long>(cube), probe.error().ToString().c_str());
          continue;
        }
        const double us = timer.Median([&](cudaStream_t) {
          OrExit(gpu::Fp8Matmul(ctx, a.as<uint8_t>(), scales.as<float>(), b.as<uint8_t>(),
                                  scales.as<float>() + 1, cube, cube, cube, y.as<float>()));
        });
        fp8_peak = Tflops(cube, cube, cube, us);
        const std::string shape = std::to_string(cube) + "x" + std::to_string(cube) + "x" + std::to_string(cube);
        rows.push_back({"peak", shape, "fp8_cublaslt", cube, us, fp8_peak, 1.0});
        break;
      }
    }
    const double us16 = timer.Median([&](cudaStream_t) {
      OrExit(gpu::F16Matmul(ctx, a16.ptr, b16.ptr, p, p, p, y.as<float>()));
    });
    f16_peak = Tflops(p, p, p, us16);
    rows.push_back({"peak", "8192x8192x8192", "f16_cublas", p, us16, f16_peak, fp8 ? f16_peak / fp8_peak : 1.0});
  }
  std::printf("dense peak: FP8 cuBLASLt %.0f TFLOP/s (the cube above), FP16 cuBLAS (FP32 accumulate, 8192^3) %.0f TFLOP/s\n\n",
              fp8_peak, f16_peak);

  const std::vector<int64_t> ts = opt.quick ? std::vector<int64_t>{128} : std::vector<int64_t>{128, 512, 2048};
  const std::vector<int> ms = opt.quick ? std::vector<int>{2} : std::vector<int>{2, 4, 8};
  const kernels::GemvVariant* hw = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  std::printf("%-10s %-20s %5s %-26s %10s %9s %8s\n", "section", "shape", "M/T", "variant", "us", "TFLOP/s",
              "ratio");
  auto print = [&](const Row& r) {
    std::printf("%-10s %-20s %5lld %-26s %10.2f %9.2f %8.3f\n", r.section.c_str(), r.shape.c_str(),
                static_cast<long long>(r.m), r.variant.c_str(), r.us, r.tflops, r.ratio);
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
      OrExit(gpu::LaunchQuantizeFp8PerTensor(x->as<float>(), t * s.k, x8.as<uint8_t>(), xs.as<float>(),
                                               absmax.as<uint32_t>(), stream));
      {  // x in FP16 for the GEMM-only timing: the path's own conversion, once.
        std::vector<uint16_t> h(t * s.k);
        std::vector<float> f(t * s.k);
        OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(f.data(), x->ptr, f.size() * 4, cudaMemcpyDeviceToHost)));
        for (size_t i = 0; i < f.size(); ++i) h[i] = kpolicy::kernels::FloatToHalf(f[i]);
        OrExit(KPOLICY_CUDA_STATUS(cudaMemcpy(x16.ptr, h.data(), h.size() * 2, cudaMemcpyHostToDevice)));
      }
      const double f16_path = timer.Median([&](cudaStream_t) { OrExit(gpu::RunGemm(ctx, w16, x->as<float>(), m, y.as<float>())); });
      const double f16_gemm = timer.Median([&](cudaStream_t) {
        OrExit(gpu::F16Matmul(ctx, w16.device_data(), x16.ptr, t, s.n, s.k, y.as<float>()));
      });
      print({"prefill", shape, "f16_cublas path", t, f16_path, Tflops(t, s.n, s.k, f16_path), 1.0});
      print({"prefill", shape, "f16_cublas gemm", t, f16_gemm, Tflops(t, s.n, s.k, f16_gemm), 1.0});
      if (fp8) {
        const double fp8_path = timer.Median([&](cudaStream_t) { OrExit(gpu::RunGemm(ctx, *w8, x->as<float>(), m, y.as<float>())); });
        const double fp8_gemm = timer.Median([&](cudaStream_t) {
          OrExit(gpu::Fp8Matmul(ctx, static_cast<const uint8_t*>(w8->device_data()), w8->device_fp8_scale(),
                                  x8.as<uint8_t>(), xs.as<float>(), t, s.n, s.k, y.as<float>()));
        });
        print({"prefill", shape, "fp8_cublaslt path", t, fp8_path, Tflops(t, s.n, s.k, fp8_path), f16_path / fp8_path});
        print({"prefill", shape, "fp8_cublaslt gemm", t, fp8_gemm, Tflops(t, s.n, s.k, fp8_gemm), f16_gemm / fp8_gemm});
        std::printf("  FP8/FP16 speedup T=%lld: path %.2fx, GEMM %.2fx (aim >= 1.5x) %s; FP8 GEMM at %.0f%% of FP8 peak\n",
                    static_cast<long long>(t), f16_path / fp8_path, f16_gemm / fp8_gemm,
                    f16_gemm / fp8_gemm >= 1.5 ? "MET" : "MISSED", 100 * Tflops(t, s.n, s.k, fp8_gemm) / fp8_peak);
      }
    }

    // The best GEMV variant with its Q8_1 quantisation: what the GEMM paths
    // replace at decode.
    auto time_hw_dp4a = [&](int m) {
      return timer.Median([&](cudaStream_t st) {
        OrExit(gpu::LaunchQuantizeQ8_1(x->as<float>(), m, s.k, q8.ptr, st));
        kernels::GemvArgs a;
        a.weights = wq.device_data();
        a.x_q8 = q8.ptr;
        a.y = y.as<float>();
        a.n = s.n;
        a.k = s.k;
        a.m = m;
        a.stream = st;
        OrExit(hw->launch(a));
      });
    };

    // ---- Decode ----
    for (int m : ms) {
      const double dp4a = time_hw_dp4a(m);
      const double w4 = timer.Median([&](cudaStream_t) { OrExit(gpu::RunGemm(ctx, wil, x->as<float>(), m, y.as<float>())); });
      print({"decode", shape, "q4k HwDp4a + Q8_1", m, dp4a, Tflops(m, s.n, s.k, dp4a), 1.0});
      print({"decode", shape, "w4a16_interleaved", m, w4, Tflops(m, s.n, s.k, w4), dp4a / w4});
      if (fp8) {
        const double f8 = timer.Median([&](cudaStream_t) { OrExit(gpu::RunGemm(ctx, *w8, x->as<float>(), m, y.as<float>())); });
        print({"decode", shape, "fp8_cublaslt path", m, f8, Tflops(m, s.n, s.k, f8), dp4a / f8});
      }
    }
    // ---- M = 1 ----
    {
      const double dp4a = time_hw_dp4a(1);
      const double hgemm = timer.Median([&](cudaStream_t) { OrExit(gpu::RunGemm(ctx, w16, x->as<float>(), 1, y.as<float>())); });
      print({"m1", shape, "q4k HwDp4a + Q8_1", 1, dp4a, Tflops(1, s.n, s.k, dp4a), 1.0});
      print({"m1", shape, "hgemm f16_cublas path", 1, hgemm, Tflops(1, s.n, s.k, hgemm), dp4a / hgemm});
    }
  }
  OrExit(KPOLICY_CUDA_STATUS(cudaStreamSynchronize(stream)));
  std::printf("\nratio: prefill = FP16 time / this time (same kind: path or gemm); decode and m1 = HwDp4a time / this time;"
              " peak = FP16 peak / FP8 peak\n");

  if (opt.out.empty()) return;
  FILE* f = std::fopen(opt.out.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "bench_prefill: cannot write %s\n", opt.out.c_str());
    std::exit(1);
  }
  std::fprintf(f, "---\ntool: bench_prefill\ncommand: \"%s\"\ndate: %s\n", opt.command.c_str(), date);
  std::fprintf(f, "device:\n  name: \"%s\"\n  cc: %d%d\n  sms: %d\n  l2_bytes: %d\n", prop.name, prop.major,
               prop.minor, prop.multiProcessorCount, prop.l2CacheSize);
  std::fprintf(f, "  driver_version: %d\n  runtime_version: %d\n", driver, runtime);
  std::fprintf(f, "method: \"L2 flushed before each call; 3 warm-up calls; median of %d calls timed with CUDA events\"\n",
               repeats);
  std::fprintf(f, "peaks:\n  fp8_cublaslt_8192_tflops: %.1f\n  f16_cublas_8192_tflops: %.1f\n", fp8_peak, f16_peak);
  std::fprintf(f, "results:\n");
  for (const Row& r : rows) {
    std::fprintf(f, "  - {section: %s, shape: \"%s\", m: %lld, variant: \"%s\", us: %.3f, tflops: %.3f, ratio: %.4f}\n",
                 r.section.c_str(), r.shape.c_str(), static_cast<long long>(r.m), r.variant.c_str(), r.us,
                 r.tflops, r.ratio);
  }
  std::fprintf(f, "---\n\n# bench_prefill on %s\n\nDense peaks (8192^3): FP8 %.0f TFLOP/s, FP16 %.0f TFLOP/s.\n\n",
               prop.name, fp8_peak, f16_peak);
  std::fprintf(f, "Ratio: prefill = FP16 time / this time; decode and m1 = HwDp4a (with Q8_1) time / this time.\n\n");
  std::fprintf(f, "| section | shape | M/T | variant | us | TFLOP/s | ratio |\n|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::fprintf(f, "| %s | %s | %lld | %s | %.2f | %.2f | %.3f |\n", r.section.c_str(), r.shape.c_str(),
                 static_cast<long long>(r.m), r.variant.c_str(), r.us, r.tflops, r.ratio);
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
  Run(opt);
  return 0;
}
