// The GEMM paths of gemm_paths.h (knobs fp8_prefill, fp8_decode,
// hgemm_decode, w4a16_interleaved, batched_prefill) as a specification: on
// fresh seeded Q4_K / Q6_K weights and activations, Gaussian and with
// massive channels, at Llama-3-8B-like shapes (N = 1024, K = 4096; and
// N = 1000, K = 256*13 for a partial 16-row tile), through the host runner
// (y poisoned to NaN first), every output is written, finite and within a
// bound derived from the path's roundings:
//
// FP8 (E4M3, 3 mantissa bits, per-tensor scale s = absmax/448). Encoding v
// rounds to nearest even: a normal value moves by at most half an ulp,
// 2^-4 |v|; a subnormal (|v/s| < 2^-6, spacing 2^-9) by at most 2^-10 s;
// the division v/s adds 2^-24 relative before that rounding. So
//   e(v) <= (2^-4 + 2^-20) |v| + 2^-10 s,
// and a product w^ x^ differs from w x by at most |w| e(x) + |x| e(w) +
// e(w) e(x). Per output, against the fp64 reference:
//   |y - ref| <= sum_k [|w_k| e(x_k) + |x_k| e(w_k) + e(w_k) e(x_k)] + acc + dq,
// dq = FloatPathBound (the weights are dequantised in fp32 on the host
// before encoding: <= 2 fp32 roundings of |d sc q| + |dmin m| per weight,
// far inside (K+4) 2^-24 sum a_k |x_k|), and acc the GEMM's accumulation
// error. acc: products of two E4M3 values are exact; with fast accumulation
// off, cuBLASLt promotes the tensor cores' partial sums into FP32 at least
// every 128 products (cublasLt.h, CUBLASLT_MATMUL_DESC_FAST_ACCUM; the
// tensor cores' own adder keeps about 14 bits, DeepSeek-V3 report 3.3.2).
// So each 128-product chunk c is off by at most 128 * 2 * 2^-13 * max_c |p|
// (each product truncated at most twice to 14 bits relative to the chunk's
// largest term: aligning to the largest exponent, adding to the partial
// sum), and the FP32 sums of chunks and the two scale multiplications by
// (K/16 + 16) 2^-24 S, S = s_w s_x sum |codes products|:
//   acc = 2^-5 s_w s_x sum_c max_c |p| + (K/16 + 16) 2^-24 S.
// Against the CPU emulation (the same codes, bit-exact: tested below; the
// exact fp64 sum of their products times s_w s_x) only acc remains: the
// tight check.
//
// FP16 (10 mantissa bits): e16(v) <= 2^-11 |v| + 2^-25 (half the subnormal
// step 2^-24); the same product rule gives the fp64 bound, plus
// acc16 = (K + 64) 2^-23 S16 for FP32 accumulation in any order and
// grouping, with a unit 2^-23 rather than 2^-24 in case the tensor cores'
// adders truncate. The tight check is against the exact fp64 product of the
// FP16-rounded operands (FloatToHalf of the host-dequantised weights, as
// the path uploads them; x rounded like __float2half_rn). W4A16 dequantises
// in fp32 on the GPU (a possible FMA contraction may move the FP16 result
// by one ulp, <= 2^-10 |w| + 2^-24), so its tight bound adds that.
//
// GEMV loop (batched_prefill = false): the HwDp4a kernel per token, held
// to the same bounds as in gemv_variants_test (gpu_test_support.h).
//
// Cosine against fp64 is a sanity check on top (not a derived bound).
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "gpu_test_support.h"
#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/fp8.h"
#include "kpolicy/kernels/gemm_paths.h"
#include "kpolicy/kernels/gemm_runner.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/parity.h"
#include "kpolicy/kernels/reference.h"
#include "kpolicy/kernels/w4a16_layout.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::gputest {
namespace {

namespace gpu = kernels::gpu;
using kernels::WeightFormat;
using kernels::WeightMatrix;
using kernels::WeightView;

constexpr double kU24 = 1.0 / 16777216.0;  // 2^-24

uint64_t Mix(uint64_t h, uint64_t v) { return h ^ (v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2)); }

struct Device {
  int major = 0, minor = 0;
};
Device CurrentDevice() {
  Device d;
  int dev = 0;
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaGetDevice(&dev)));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceGetAttribute(&d.major, cudaDevAttrComputeCapabilityMajor, dev)));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceGetAttribute(&d.minor, cudaDevAttrComputeCapabilityMinor, dev)));
  return d;
}
bool HasFp8() {
  const Device d = CurrentDevice();
  return gpu::CheckFp8Capability(d.major, d.minor).ok();
}

// The precondition of the cases that run FP8: below compute capability 8.9
// Boost.Test reports them as skipped, saying why, rather than passing them
// with nothing asserted (the refusal itself is asserted by
// fp8_path_refuses_old_devices_and_caches_cpu_weight_codes on every device).
boost::test_tools::assertion_result DeviceHasFp8(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result has(HasFp8());
  if (!has) has.message() << "no FP8 on this device (compute capability below 8.9)";
  return has;
}

// Weights are shared by the cases of one (format, shape, workload); the
// activations are drawn afresh per case.
struct WeightKey {
  WeightFormat format;
  int64_t n, k;
  Workload workload;
  bool operator<(const WeightKey& o) const {
    return std::tie(format, n, k, workload) < std::tie(o.format, o.n, o.k, o.workload);
  }
};
uint64_t WeightSeed(const WeightKey& key) {
  return Mix(Mix(Mix(Mix(0x67656D6Dull, static_cast<uint64_t>(key.format)), key.n), key.k),
             static_cast<uint64_t>(key.workload));
}
const WeightMatrix& SharedWeights(const WeightKey& key) {
  static std::map<WeightKey, WeightMatrix> cache;
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache.emplace(key, MakeWeights(key.format, key.n, key.k, key.workload, WeightSeed(key))).first;
  }
  return it->second;
}

std::string CaseName(gpu::GemmPath path, const WeightKey& key, int m) {
  std::ostringstream s;
  s << gpu::GemmPathName(path) << " " << kernels::WeightFormatName(key.format) << " N=" << key.n
    << " K=" << key.k << " M=" << m << " " << WorkloadName(key.workload);
  return s.str();
}

std::vector<float> RunOnHost(gpu::GemmPath path, const WeightView& w, const std::vector<float>& x, int m,
                             const std::string& name) {
  auto y = gpu::RunGemmPathOnHost(path, w, x, m);
  BOOST_REQUIRE_MESSAGE(y.ok(), name << ": " << (y.ok() ? std::string() : y.error().ToString()));
  return std::move(y).value();
}

void ExpectCosine(const std::string& name, const std::vector<double>& ref, const std::vector<float>& got,
                  double at_least) {
  const kernels::ParityMetrics p = kernels::ComputeParity(ref, got);
  BOOST_TEST(p.cosine >= at_least, name << ": cosine vs fp64 " << p.cosine << " < " << at_least
                                        << " (relative L2 error " << p.relative_l2_error << ")");
}

// ---- FP8 ------------------------------------------------------------------------

void CheckFp8Case(const WeightKey& key, int m, uint64_t seed) {
  const std::string name = CaseName(gpu::GemmPath::kFp8Lt, key, m);
  BOOST_TEST_CONTEXT(name) {
    const WeightMatrix& wm = SharedWeights(key);
    const WeightView w = wm.view();
    const std::vector<float> x = MakeActivationsFor(key.k, m, key.workload, WeightSeed(key), seed);
    const std::vector<float> got = RunOnHost(gpu::GemmPath::kFp8Lt, w, x, m, name);
    const std::vector<double> ref = kernels::ReferenceGemv(w, x, m);
    const std::vector<double> dq = FloatPathBound(w, x, m);
    const kernels::Fp8Tensor fw = kernels::QuantizeFp8PerTensor(kernels::DequantizeAll(w));
    const kernels::Fp8Tensor fx = kernels::QuantizeFp8PerTensor(x);
    std::array<double, 256> decode{};
    for (int c = 0; c < 256; ++c) decode[c] = kernels::Fp8E4M3ToFloat(static_cast<uint8_t>(c));
    const double sw = fw.scale, sx = fx.scale, ss = sw * sx;
    const double rel = 1.0 / 16 + 1.0 / 1048576;  // 2^-4 + 2^-20
    const int64_t n = key.n, k = key.k;
    std::vector<double> emu(m * n), tight(m * n), loose(m * n), wrow(k), ew(k);
    for (int64_t row = 0; row < n; ++row) {
      kernels::ReferenceRow(w, row, wrow);
      for (int64_t i = 0; i < k; ++i) ew[i] = rel * std::fabs(wrow[i]) + sw / 1024;
      const uint8_t* wc = fw.codes.data() + row * k;
      for (int r = 0; r < m; ++r) {
        const float* xr = x.data() + r * k;
        const uint8_t* xc = fx.codes.data() + r * k;
        double sum = 0, sabs = 0, chunk_max = 0, chunk_max_sum = 0, analytic = 0;
        for (int64_t i = 0; i < k; ++i) {
          const double p = decode[wc[i]] * decode[xc[i]];
          sum += p;
          sabs += std::fabs(p);
          chunk_max = std::max(chunk_max, std::fabs(p));
          if (i % 128 == 127) chunk_max_sum += chunk_max, chunk_max = 0;
          const double xv = std::fabs(xr[i]), ex = rel * xv + sx / 1024;
          analytic += std::fabs(wrow[i]) * ex + xv * ew[i] + ew[i] * ex;
        }
        chunk_max_sum += chunk_max;
        const double acc = ss * chunk_max_sum / 32 + (k / 16 + 16) * kU24 * ss * sabs;
        const int64_t idx = r * n + row;
        emu[idx] = ss * sum;
        tight[idx] = acc;
        loose[idx] = analytic + acc + dq[idx];
      }
    }
    ExpectWithin(name + " vs CPU FP8 emulation", got, emu, tight, n);
    ExpectWithin(name + " vs fp64", got, ref, loose, n);
    ExpectCosine(name, ref, got, 0.99);
  }
}

// ---- FP16 (cuBLAS) and W4A16 ---------------------------------------------------------

double Half(float v) { return kernels::HalfToFloat(kernels::FloatToHalf(v)); }

void CheckHalfCase(gpu::GemmPath path, const WeightKey& key, int m, uint64_t seed) {
  const std::string name = CaseName(path, key, m);
  BOOST_TEST_CONTEXT(name) {
    const WeightMatrix& wm = SharedWeights(key);
    const WeightView w = wm.view();
    const std::vector<float> x = MakeActivationsFor(key.k, m, key.workload, WeightSeed(key), seed);
    const std::vector<float> got = RunOnHost(path, w, x, m, name);
    const std::vector<double> ref = kernels::ReferenceGemv(w, x, m);
    const std::vector<double> dq = FloatPathBound(w, x, m);
    const std::vector<float> wf = kernels::DequantizeAll(w);
    const bool in_kernel_dequant = path == gpu::GemmPath::kW4a16Interleaved;
    const int64_t n = key.n, k = key.k;
    std::vector<double> x16(x.size());
    for (size_t i = 0; i < x.size(); ++i) x16[i] = Half(x[i]);
    std::vector<double> r16(m * n), tight(m * n), loose(m * n), wrow(k), w16(k), ew(k);
    for (int64_t row = 0; row < n; ++row) {
      kernels::ReferenceRow(w, row, wrow);
      for (int64_t i = 0; i < k; ++i) {
        w16[i] = Half(wf[row * k + i]);
        ew[i] = std::fabs(wrow[i]) / 2048 + kU24 / 2;
      }
      for (int r = 0; r < m; ++r) {
        const float* xr = x.data() + r * k;
        const double* hr = x16.data() + r * k;
        double sum = 0, sabs = 0, analytic = 0, ulp_slack = 0;
        for (int64_t i = 0; i < k; ++i) {
          const double p = w16[i] * hr[i];
          sum += p;
          sabs += std::fabs(p);
          const double xv = std::fabs(xr[i]), ex = xv / 2048 + kU24 / 2;
          analytic += std::fabs(wrow[i]) * ex + xv * ew[i] + ew[i] * ex;
          if (in_kernel_dequant) ulp_slack += (std::fabs(w16[i]) / 1024 + kU24) * std::fabs(hr[i]);
        }
        const double acc = (k + 64) * 2 * kU24 * sabs;
        const int64_t idx = r * n + row;
        r16[idx] = sum;
        tight[idx] = acc + ulp_slack;
        loose[idx] = analytic + acc + ulp_slack + dq[idx];
      }
    }
    ExpectWithin(name + " vs exact product of the FP16 operands", got, r16, tight, n);
    ExpectWithin(name + " vs fp64", got, ref, loose, n);
    ExpectCosine(name, ref, got, 0.9999);
  }
}

// ---- GEMV loop ---------------------------------------------------------------------

void CheckGemvLoopCase(const WeightKey& key, int m, uint64_t seed) {
  const std::string name = CaseName(gpu::GemmPath::kGemvLoop, key, m);
  BOOST_TEST_CONTEXT(name) {
    const WeightMatrix& wm = SharedWeights(key);
    const WeightView w = wm.view();
    const std::vector<float> x = MakeActivationsFor(key.k, m, key.workload, WeightSeed(key), seed);
    const std::vector<float> got = RunOnHost(gpu::GemmPath::kGemvLoop, w, x, m, name);
    const std::vector<double> ref = kernels::ReferenceGemv(w, x, m);
    const Dp4aBounds bounds = ComputeDp4aBounds(w, x, m);
    const std::vector<float> emulated = kernels::EmulateDp4aPath(w, x, m);
    const std::vector<double> emulated_d(emulated.begin(), emulated.end());
    std::vector<double> tight(bounds.fp32.size()), loose(bounds.fp32.size());
    for (size_t i = 0; i < tight.size(); ++i) {
      tight[i] = 2.0 * bounds.fp32[i];
      loose[i] = bounds.fp32[i] + bounds.quant[i];
    }
    ExpectWithin(name + " vs CPU DP4A emulation", got, emulated_d, tight, key.n);
    ExpectWithin(name + " vs fp64", got, ref, loose, key.n);
  }
}

// Llama-3-8B-like: attn_k/v's 1024 x 4096. N = 1000 with K = 256 * 13 leaves
// a partial 16-row tile (W4A16) and a super-block count that is prime.
constexpr WeightKey kQ4Gauss{WeightFormat::kQ4K, 1024, 4096, Workload::kGaussian};
constexpr WeightKey kQ4Massive{WeightFormat::kQ4K, 1024, 4096, Workload::kMassive};
constexpr WeightKey kQ6Gauss{WeightFormat::kQ6K, 1024, 4096, Workload::kGaussian};
constexpr WeightKey kQ4Tail{WeightFormat::kQ4K, 1000, 256 * 13, Workload::kGaussian};

}  // namespace

// ---- Pure functions ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fp8_capability_check_names_the_device) {
  const Status ampere = gpu::CheckFp8Capability(8, 6);
  BOOST_TEST(!ampere.ok());
  BOOST_TEST((ampere.error().code == ErrorCode::kUnsupported));
  BOOST_TEST(ampere.error().message == "FP8 needs compute capability 8.9+, this device is 8.6");
  BOOST_TEST(gpu::CheckFp8Capability(7, 5).error().message ==
             "FP8 needs compute capability 8.9+, this device is 7.5");
  BOOST_TEST(gpu::CheckFp8Capability(8, 0).error().message ==
             "FP8 needs compute capability 8.9+, this device is 8.0");
  BOOST_TEST(ampere.error().ToString().find("this device is 8.6") != std::string::npos);
  for (auto [major, minor] : {std::pair{8, 9}, {9, 0}, {10, 0}, {12, 1}}) {
    BOOST_TEST(gpu::CheckFp8Capability(major, minor).ok(), major << "." << minor);
  }
  BOOST_TEST(!gpu::CheckFp8Capability(-1, 0).ok());
  BOOST_TEST(gpu::CheckW4a16Capability(6, 1).error().message ==
             "W4A16 needs compute capability 7.0+ (FP16 tensor cores, WMMA), this device is 6.1");
  BOOST_TEST(gpu::CheckW4a16Capability(7, 0).ok());
  BOOST_TEST(gpu::CheckW4a16Capability(9, 0).ok());
}

BOOST_AUTO_TEST_CASE(knobs_select_paths) {
  using gpu::GemmPath;
  BOOST_TEST((gpu::PrefillGemmPath(true, true) == GemmPath::kFp8Lt));
  BOOST_TEST((gpu::PrefillGemmPath(true, false) == GemmPath::kF16Cublas));
  BOOST_TEST((gpu::PrefillGemmPath(false, true) == GemmPath::kGemvLoop));
  BOOST_TEST((gpu::DecodeGemmPath(1, true, true, false, true) == std::nullopt));
  BOOST_TEST((gpu::DecodeGemmPath(1, true, false, true, false) == GemmPath::kF16Cublas));
  BOOST_TEST((gpu::DecodeGemmPath(4, true, true, false, false) == GemmPath::kFp8Lt));
  BOOST_TEST((gpu::DecodeGemmPath(4, true, true, false, true) == GemmPath::kW4a16Interleaved));
  BOOST_TEST((gpu::DecodeGemmPath(4, false, true, false, true) == GemmPath::kFp8Lt));
  BOOST_TEST((gpu::DecodeGemmPath(65, true, false, false, true) == std::nullopt));
  BOOST_TEST((gpu::DecodeGemmPath(8, true, false, true, false) == std::nullopt));
}

BOOST_AUTO_TEST_CASE(w4a16_layout_is_the_documented_byte_shuffle) {
  const WeightMatrix wm = MakeWeights(WeightFormat::kQ4K, 20, 512, Workload::kGaussian, 77);
  const std::vector<uint8_t> il = kernels::InterleaveQ4KForW4a16(wm.view());
  BOOST_REQUIRE_EQUAL(static_cast<int64_t>(il.size()), kernels::W4a16InterleavedBytes(20, 512));
  BOOST_REQUIRE_EQUAL(il.size(), 2u * 2u * 2304u);
  const int64_t nsb = 2;
  int64_t mismatches = 0;
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t b = 0; b < nsb; ++b) {
      const uint8_t* chunk = il.data() + (t * nsb + b) * 2304;
      for (int r = 0; r < 16; ++r) {
        const int64_t row = 16 * t + r;
        const uint8_t* block = wm.bytes.data() + (row * nsb + b) * 144;
        for (int i = 0; i < 16; ++i) mismatches += chunk[16 * r + i] != (row < 20 ? block[i] : 0);
        for (int g = 0; g < 4; ++g) {
          for (int l = 0; l < 32; ++l) {
            mismatches += chunk[256 + 512 * g + 32 * r + l] != (row < 20 ? block[16 + 32 * g + l] : 0);
          }
        }
      }
    }
  }
  BOOST_TEST(mismatches == 0);
}

// ---- Device: the FP8 pieces bit for bit ------------------------------------------------

BOOST_AUTO_TEST_CASE(fp8_activation_encoding_matches_the_cpu_bit_for_bit) {
  // Massive channels (a scale far from 1), tiny values (E4M3 subnormals
  // after scaling), exact ties, and non-finite values (skipped by the
  // absmax, encoded as NaN / saturated).
  std::vector<float> x = MakeActivationsFor(4096, 4, Workload::kMassive, 99, 123);
  for (int i = 0; i < 64; ++i) x[i] *= 1e-4f;
  x[100] = std::numeric_limits<float>::quiet_NaN();
  x[101] = -std::numeric_limits<float>::quiet_NaN();
  x[102] = std::numeric_limits<float>::infinity();
  x[103] = -std::numeric_limits<float>::infinity();
  const kernels::Fp8Tensor want = kernels::QuantizeFp8PerTensor(x);
  x[104] = want.scale * 0.5f * (1.0f + 1.125f);  // a tie between two codes (1.0625 -> even)
  const kernels::Fp8Tensor want2 = kernels::QuantizeFp8PerTensor(x);
  DeviceBuffer dx(x.size() * sizeof(float)), codes(x.size()), scale(sizeof(float)), absmax(sizeof(uint32_t));
  dx.Upload(x.data(), x.size() * sizeof(float));
  codes.Poison();
  scale.Poison();
  KPOLICY_REQUIRE_OK(gpu::LaunchQuantizeFp8PerTensor(dx.as<float>(), static_cast<int64_t>(x.size()),
                                                     codes.as<uint8_t>(), scale.as<float>(),
                                                     absmax.as<uint32_t>(), nullptr));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
  std::vector<uint8_t> got(x.size());
  float got_scale = 0;
  codes.Download(got.data(), got.size());
  scale.Download(&got_scale, sizeof(float));
  BOOST_TEST(got_scale == want2.scale);
  int64_t diffs = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want2.codes[i] && diffs++ < 5) {
      BOOST_TEST_MESSAGE("x[" << i << "] = " << x[i] << ": GPU code " << int(got[i]) << ", CPU "
                              << int(want2.codes[i]));
    }
  }
  BOOST_TEST(diffs == 0, diffs << " codes differ from QuantizeFp8PerTensor");
}

BOOST_AUTO_TEST_CASE(fp8_path_refuses_old_devices_and_caches_cpu_weight_codes) {
  auto ctx = gpu::GemmContext::Create();
  BOOST_REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? std::string() : ctx.error().ToString()));
  const WeightMatrix& wm = SharedWeights(kQ4Tail);
  auto w = gpu::GemmWeights::Create(*ctx, gpu::GemmPath::kFp8Lt, wm.view());
  if (!HasFp8()) {
    BOOST_REQUIRE(!w.ok());
    BOOST_TEST(w.error().message.find("FP8 needs compute capability 8.9+") != std::string::npos,
               w.error().ToString());
    return;
  }
  BOOST_REQUIRE_MESSAGE(w.ok(), (w.ok() ? std::string() : w.error().ToString()));
  const kernels::Fp8Tensor want = kernels::QuantizeFp8PerTensor(kernels::DequantizeAll(wm.view()));
  BOOST_REQUIRE_EQUAL(w->device_bytes(), static_cast<int64_t>(want.codes.size()));
  std::vector<uint8_t> got(want.codes.size());
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemcpy(got.data(), w->device_data(), got.size(), cudaMemcpyDeviceToHost)));
  BOOST_TEST(got == want.codes);
  BOOST_TEST(w->fp8_scale() == want.scale);
}

BOOST_AUTO_TEST_CASE(fp8_heuristic_without_an_algorithm_is_a_clear_error,
                     *boost::unit_test::precondition(DeviceHasFp8)) {
  auto ctx = gpu::GemmContext::Create();
  BOOST_REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? std::string() : ctx.error().ToString()));
  // K = 40: not a multiple of 16, so lda = ldb = 40 bytes are not 16-byte
  // aligned leading dimensions, which cuBLASLt's FP8 kernels require.
  const int64_t m = 16, n = 64, k = 40;
  DeviceBuffer a(n * k), b(m * k), scales(2 * sizeof(float)), y(m * n * sizeof(float));
  const float ones[2] = {1.0f, 1.0f};
  scales.Upload(ones, sizeof ones);
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemset(a.get(), 0x38, n * k)));  // 1.0 in E4M3
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemset(b.get(), 0x38, m * k)));
  const Status s = gpu::Fp8Matmul(*ctx, a.as<uint8_t>(), scales.as<float>(), b.as<uint8_t>(),
                                           scales.as<float>() + 1, m, n, k, y.as<float>());
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
  BOOST_REQUIRE_MESSAGE(!s.ok(), "cuBLASLt accepted an FP8 GEMM with K = 40; expected no algorithm");
  const std::string message = s.error().ToString();
  BOOST_TEST_MESSAGE("K = 40: " << message);
  BOOST_TEST(message.find("no algorithm") != std::string::npos, message);
  BOOST_TEST(message.find("FP8 GEMM") != std::string::npos, message);
  const bool names_the_requirement =
      message.find("K % 16") != std::string::npos || message.find("rejects") != std::string::npos;
  BOOST_TEST(names_the_requirement, message);
}

BOOST_AUTO_TEST_CASE(w4a16_refuses_bad_arguments) {
  auto ctx = gpu::GemmContext::Create();
  BOOST_REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? std::string() : ctx.error().ToString()));
  const WeightMatrix q6 = MakeWeights(WeightFormat::kQ6K, 16, 256, Workload::kGaussian, 5);
  auto bad = gpu::GemmWeights::Create(*ctx, gpu::GemmPath::kW4a16Interleaved, q6.view());
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.error().code == ErrorCode::kInvalidArgument), bad.error().ToString());
  const WeightMatrix q4 = MakeWeights(WeightFormat::kQ4K, 16, 256, Workload::kGaussian, 5);
  auto w = gpu::GemmWeights::Create(*ctx, gpu::GemmPath::kW4a16Interleaved, q4.view());
  BOOST_REQUIRE_MESSAGE(w.ok(), (w.ok() ? std::string() : w.error().ToString()));
  DeviceBuffer x(65 * 256 * sizeof(float)), y(65 * 16 * sizeof(float));
  const Status s = gpu::RunGemm(*ctx, *w, x.as<float>(), 65, y.as<float>());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST((s.error().code == ErrorCode::kInvalidArgument), s.error().ToString());
  BOOST_TEST(s.error().message.find("kMaxW4a16Rows") != std::string::npos, s.error().ToString());
}

// ---- Device: every path against the references ---------------------------------------

BOOST_AUTO_TEST_CASE(fp8_path_matches_the_references, *boost::unit_test::precondition(DeviceHasFp8)) {
  for (int t : {1, 2, 8, 64, 128}) CheckFp8Case(kQ4Gauss, t, Mix(0xF8, t));
  CheckFp8Case(kQ4Massive, 8, 0xF8F8);
  CheckFp8Case(kQ6Gauss, 8, 0xF806);
  CheckFp8Case(kQ4Tail, 8, 0xF8AA);
}

BOOST_AUTO_TEST_CASE(f16_cublas_path_matches_the_references) {
  for (int t : {1, 2, 8, 128}) CheckHalfCase(gpu::GemmPath::kF16Cublas, kQ4Gauss, t, Mix(0xF16, t));
  CheckHalfCase(gpu::GemmPath::kF16Cublas, kQ4Massive, 8, 0xF16F16);
  CheckHalfCase(gpu::GemmPath::kF16Cublas, kQ6Gauss, 8, 0xF1606);
  CheckHalfCase(gpu::GemmPath::kF16Cublas, kQ4Tail, 3, 0xF16AA);
}

BOOST_AUTO_TEST_CASE(w4a16_path_matches_the_references) {
  for (int m : {1, 2, 8, 17, 64}) CheckHalfCase(gpu::GemmPath::kW4a16Interleaved, kQ4Gauss, m, Mix(0xA416, m));
  CheckHalfCase(gpu::GemmPath::kW4a16Interleaved, kQ4Massive, 8, 0xA416A416);
  for (int m : {2, 33}) CheckHalfCase(gpu::GemmPath::kW4a16Interleaved, kQ4Tail, m, Mix(0xA416AA, m));
}

BOOST_AUTO_TEST_CASE(gemv_loop_path_matches_the_references) {
  for (int t : {1, 8}) CheckGemvLoopCase(kQ4Gauss, t, Mix(0x6E3, t));
  CheckGemvLoopCase(kQ4Massive, 4, 0x6E36E3);
  CheckGemvLoopCase(kQ6Gauss, 4, 0x6E306);
}

}  // namespace kpolicy::gputest

int main(int argc, char** argv) {
  return kpolicy::gputest::GpuTestMain(argc, argv, [] { return true; });
}
