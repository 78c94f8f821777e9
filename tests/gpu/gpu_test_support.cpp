#include "gpu_test_support.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/half.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::gputest {

using kernels::Bf16ToFloat;
using kernels::BlockQ4K;
using kernels::BlockQ6K;
using kernels::BlockQ8_1;
using kernels::HalfToFloat;
using kernels::WeightFormat;
using kernels::WeightView;

static_assert(kCudaSuccess == cudaSuccess && kCudaErrorNoDevice == cudaErrorNoDevice &&
              kCudaErrorInsufficientDriver == cudaErrorInsufficientDriver,
              "device_presence.h's codes are CUDA's");

int GpuTestMain(int argc, char** argv, bool (*init)()) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  int driver = -1;
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = -1;
  switch (ClassifyDeviceCount(error, count, driver)) {
    case DevicePresence::kNoDevice:
      std::printf("SKIP: no CUDA device (cudaGetDeviceCount: %s)\n",
                  error == cudaSuccess ? "0 devices"
                  : error == cudaErrorInsufficientDriver ? "no NVIDIA driver installed"
                                                         : cudaGetErrorName(error));
      return 77;
    case DevicePresence::kBroken:
      std::printf("FAIL: %s (driver version %d)\n", KPOLICY_CUDA_STATUS(error).error().ToString().c_str(), driver);
      return 1;
    case DevicePresence::kPresent:
      break;
  }
  cudaDeviceProp prop{};
  if (const Status s = KPOLICY_CUDA_STATUS(cudaGetDeviceProperties(&prop, 0)); !s.ok()) {
    std::printf("FAIL: %s\n", s.error().ToString().c_str());
    return 1;
  }
  if (prop.major * 10 + prop.minor < 75) {
    std::printf("SKIP: CUDA device %s is sm_%d%d; the kernels are built for sm_75 and newer\n",
                prop.name, prop.major, prop.minor);
    return 77;
  }
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);
  return boost::unit_test::unit_test_main(init, argc, argv);
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes)));
}

DeviceBuffer::~DeviceBuffer() { cudaFree(ptr_); }

void DeviceBuffer::Upload(const void* host, size_t bytes) {
  BOOST_REQUIRE(bytes <= bytes_);
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice)));
}

void DeviceBuffer::Download(void* host, size_t bytes) const {
  BOOST_REQUIRE(bytes <= bytes_);
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemcpy(host, ptr_, bytes, cudaMemcpyDeviceToHost)));
}

void DeviceBuffer::Poison() { KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaMemset(ptr_, 0xFF, bytes_))); }

std::vector<float> DownloadFloats(const DeviceBuffer& buffer, size_t count) {
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaGetLastError()));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
  std::vector<float> out(count);
  buffer.Download(out.data(), count * sizeof(float));
  return out;
}

const char* WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kGaussian: return "gaussian";
    case Workload::kMassive: return "massive";
    case Workload::kFp16OverflowSum: return "fp16-overflow-sum";
  }
  return "?";
}

namespace {

// The enlarged channels of a workload (none for kGaussian), rows x k.
kernels::Activations EnlargedActivations(Workload workload, uint64_t weight_seed, int rows, int64_t k) {
  kernels::ActivationSpec spec{.rows = rows, .cols = k};
  if (workload == Workload::kMassive) spec.massive_channels = 4;
  if (workload == Workload::kFp16OverflowSum) spec = kernels::Fp16OverflowSumSpec(rows, k);
  return kernels::MakeActivations(weight_seed, spec);
}

}  // namespace

kernels::WeightMatrix MakeWeights(WeightFormat format, int64_t n, int64_t k, Workload workload,
                                  uint64_t weight_seed) {
  std::vector<float> w = kernels::GaussianWeights(weight_seed, n, k);
  const kernels::Activations enlarged = EnlargedActivations(workload, weight_seed, 1, k);
  kernels::DampMassiveColumns(w, n, k, enlarged.massive, enlarged.massive_factor);
  return kernels::QuantizeWeights(format, w, n, k);
}

std::vector<float> MakeActivationsFor(int64_t k, int m, Workload workload, uint64_t weight_seed,
                                      uint64_t activation_seed) {
  std::vector<float> x = kernels::GaussianVector(activation_seed, m * k);
  // MakeActivations draws the massive channels, the overflow blocks and
  // their factors from the seed alone (not the row count), so weight_seed
  // gives the channels MakeWeights damped; the ordinary values come from
  // activation_seed.
  const kernels::Activations enlarged = EnlargedActivations(workload, weight_seed, m, k);
  for (int r = 0; r < m; ++r) {
    for (int64_t c : enlarged.massive) x[r * k + c] = enlarged.values[r * k + c];
  }
  return x;
}

Problem MakeProblem(WeightFormat format, int64_t n, int64_t k, int m, Workload workload,
                    uint64_t weight_seed, uint64_t activation_seed) {
  Problem problem;
  problem.weights = MakeWeights(format, n, k, workload, weight_seed);
  problem.x = MakeActivationsFor(k, m, workload, weight_seed, activation_seed);
  problem.m = m;
  return problem;
}

namespace {

// Per row of W: a_k (the magnitude of weight k's terms) and, for Q4_K, the
// min coefficient |dmin m_j| of each 32-weight sub-block (0 for Q6_K).
struct RowTerms {
  std::vector<double> magnitude;  // K
  std::vector<double> min_coef;   // K / 32
};

void ComputeRowTerms(const WeightView& w, int64_t row, RowTerms* terms) {
  const int64_t k = w.cols, nsb = k / kernels::kSuperBlockSize;
  terms->magnitude.assign(k, 0.0);
  terms->min_coef.assign(k / 32, 0.0);
  const uint8_t* bytes = w.bytes.data() + row * kernels::RowBytes(w.format, k);
  for (int64_t b = 0; b < nsb; ++b) {
    if (w.format == WeightFormat::kQ4K) {
      BlockQ4K block;
      std::memcpy(&block, bytes + b * sizeof(BlockQ4K), sizeof(block));
      const double d = HalfToFloat(block.d), dmin = HalfToFloat(block.dmin);
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        kernels::Q4KScaleMin(block, j, &sc, &mn);
        const double min_term = std::fabs(dmin * mn);
        terms->min_coef[b * 8 + j] = min_term;
        for (int i = 0; i < 32; ++i) {
          const int q = kernels::Q4KQuant(block, 32 * j + i);
          terms->magnitude[b * 256 + 32 * j + i] = std::fabs(d * sc * q) + min_term;
        }
      }
    } else {
      BlockQ6K block;
      std::memcpy(&block, bytes + b * sizeof(BlockQ6K), sizeof(block));
      const double d = HalfToFloat(block.d);
      for (int i = 0; i < 256; ++i) {
        terms->magnitude[b * 256 + i] =
            std::fabs(d * block.scales[i / 16] * (kernels::Q6KQuant(block, i) - 32));
      }
    }
  }
}

constexpr double kUnit = 1.0 / 16777216.0;  // 2^-24, fp32's unit roundoff

}  // namespace

std::vector<double> FloatPathBound(const WeightView& w, std::span<const float> x, int m) {
  const int64_t n = w.rows, k = w.cols;
  std::vector<double> bound(m * n);
  RowTerms terms;
  for (int64_t row = 0; row < n; ++row) {
    ComputeRowTerms(w, row, &terms);
    for (int r = 0; r < m; ++r) {
      double s = 0.0;
      for (int64_t i = 0; i < k; ++i) s += terms.magnitude[i] * std::fabs(x[r * k + i]);
      bound[r * n + row] = static_cast<double>(k + 4) * kUnit * s;
    }
  }
  return bound;
}

Dp4aBounds ComputeDp4aBounds(const WeightView& w, std::span<const float> x, int m) {
  const int64_t n = w.rows, k = w.cols, nblocks = k / 32;
  const std::vector<BlockQ8_1> q8 = kernels::QuantizeActivations(x, m, k);
  // Per activation row: x^, |x^ - x|, and per Q8_1 block |s|, |s - sum x^|.
  std::vector<double> xhat(m * k), err(m * k), s_abs(m * nblocks), s_err(m * nblocks);
  for (int r = 0; r < m; ++r) {
    for (int64_t b = 0; b < nblocks; ++b) {
      const BlockQ8_1& block = q8[r * nblocks + b];
      const double d8 = HalfToFloat(block.d), s = Bf16ToFloat(block.s);
      double sum = 0.0;
      for (int i = 0; i < 32; ++i) {
        const int64_t idx = r * k + b * 32 + i;
        xhat[idx] = d8 * block.qs[i];
        err[idx] = std::fabs(xhat[idx] - static_cast<double>(x[idx]));
        sum += xhat[idx];
      }
      s_abs[r * nblocks + b] = std::fabs(s);
      s_err[r * nblocks + b] = std::fabs(s - sum);
    }
  }
  const double depth = static_cast<double>(k / kernels::kSuperBlockSize + 48);
  Dp4aBounds bounds;
  bounds.fp32.resize(m * n);
  bounds.quant.resize(m * n);
  RowTerms terms;
  for (int64_t row = 0; row < n; ++row) {
    ComputeRowTerms(w, row, &terms);
    for (int r = 0; r < m; ++r) {
      double magnitude = 0.0, quant = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        magnitude += terms.magnitude[i] * std::fabs(xhat[r * k + i]);
        quant += terms.magnitude[i] * err[r * k + i];
      }
      for (int64_t b = 0; b < nblocks; ++b) {
        magnitude += terms.min_coef[b] * s_abs[r * nblocks + b];
        quant += terms.min_coef[b] * s_err[r * nblocks + b];
      }
      bounds.fp32[r * n + row] = depth * kUnit * magnitude;
      bounds.quant[r * n + row] = quant;
    }
  }
  return bounds;
}

int64_t ExpectWithin(const std::string& what, std::span<const float> got,
                     std::span<const double> want, std::span<const double> tolerance, int64_t n) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  BOOST_REQUIRE_EQUAL(got.size(), tolerance.size());
  int64_t failures = 0;
  std::ostringstream first;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i];
    // The tolerance floor of 1e-30 only matters for an output that is exactly
    // zero in every path; a NaN (never written) or inf fails here.
    const bool ok = std::isfinite(g) && std::fabs(g - want[i]) <= tolerance[i] + 1e-30;
    if (!ok) {
      if (failures < 5) {
        first << "\n  (m=" << i / n << ", n=" << i % n << ") got " << g << " want " << want[i]
              << " |diff| " << std::fabs(g - want[i]) << " > tol " << tolerance[i];
      }
      ++failures;
    }
  }
  BOOST_TEST(failures == 0, what << ": " << failures << " of " << got.size()
                                 << " outputs outside the bound" << first.str());
  return failures;
}

std::vector<float> RunGemv(const kernels::GemvVariant& variant, const Problem& problem,
                           int mwv_warps) {
  namespace gpu = kernels::gpu;
  const int64_t n = problem.weights.rows, k = problem.weights.cols;
  const int m = problem.m;
  DeviceBuffer weights(problem.weights.bytes.size());
  weights.Upload(problem.weights.bytes.data(), problem.weights.bytes.size());
  DeviceBuffer x(problem.x.size() * sizeof(float));
  x.Upload(problem.x.data(), problem.x.size() * sizeof(float));
  DeviceBuffer x_q8(gpu::Q8_1ActivationBytes(m, k));
  DeviceBuffer y(static_cast<size_t>(m * n) * sizeof(float));
  y.Poison();
  kernels::GemvArgs args;
  args.weights = weights.get();
  args.n = n;
  args.k = k;
  args.m = m;
  args.y = y.as<float>();
  args.mwv_warps = mwv_warps;
  if (variant.quantizes_activations()) {
    x_q8.Poison();
    KPOLICY_REQUIRE_OK(gpu::LaunchQuantizeQ8_1(x.as<float>(), m, k, x_q8.get(), nullptr));
    args.x_q8 = x_q8.get();
  } else {
    args.x = x.as<float>();
  }
  KPOLICY_REQUIRE_OK(variant.launch(args));
  return DownloadFloats(y, m * n);
}

}  // namespace kpolicy::gputest
