// LaunchQuantizeQ8_1 writes, for every block of 32 activations, exactly the
// bytes the CPU QuantizeQ8_1 (Q8SumSource::kQuantSum) writes: d, s and all
// 32 quants. Exact, not within one quant: each step on both sides is a single
// correctly rounded IEEE operation on the same operands (quantize_q8_1.cu
// lists them), so there is no rounding tie that could go two ways; a
// difference means the kernel computes something else.
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>

#include "gpu_test_support.h"
#include "kpolicy/kernels/workload.h"

namespace kpolicy::gputest {
namespace {

namespace gpu = kernels::gpu;
using kernels::BlockQ8_1;

void ExpectBitExact(const std::vector<float>& x, int m, int64_t k, const char* what) {
  BOOST_TEST_CONTEXT(what << " M=" << m << " K=" << k) {
    DeviceBuffer dx(x.size() * sizeof(float));
    dx.Upload(x.data(), x.size() * sizeof(float));
    DeviceBuffer q8(gpu::Q8_1ActivationBytes(m, k));
    q8.Poison();
    KPOLICY_REQUIRE_OK(gpu::LaunchQuantizeQ8_1(dx.as<float>(), m, k, q8.get(), nullptr));
    KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
    std::vector<uint8_t> planar(q8.bytes());
    q8.Download(planar.data(), planar.size());
    const std::vector<BlockQ8_1> got = gpu::Q8_1PlanarToBlocks(planar, m, k);
    std::vector<BlockQ8_1> want(x.size() / 32);
    kernels::QuantizeQ8_1(x, want, kernels::Q8SumSource::kQuantSum);
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    int64_t mismatches = 0;
    for (size_t b = 0; b < want.size(); ++b) {
      if (std::memcmp(&got[b], &want[b], sizeof(BlockQ8_1)) == 0) continue;
      if (mismatches++ < 3) {
        BOOST_TEST_MESSAGE("block " << b << ": d " << got[b].d << " vs " << want[b].d << ", s "
                                    << got[b].s << " vs " << want[b].s);
        for (int i = 0; i < 32; ++i) {
          if (got[b].qs[i] != want[b].qs[i]) {
            BOOST_TEST_MESSAGE("  qs[" << i << "] " << int(got[b].qs[i]) << " vs "
                                       << int(want[b].qs[i]) << " (x = " << x[b * 32 + i] << ")");
          }
        }
      }
    }
    BOOST_TEST(mismatches == 0, mismatches << " of " << want.size() << " blocks differ");
  }
}

BOOST_AUTO_TEST_CASE(gaussian_activations_bit_exact) {
  uint64_t seed = 0x51381;
  for (int m : {1, 3, 8}) {
    for (int64_t k : {256, 256 * 13, 4096}) {
      ExpectBitExact(kernels::GaussianVector(++seed, m * k), m, k, "gaussian");
    }
  }
}

// Block sums beyond fp16 (stored as bf16), and blocks whose absmax / 127
// passes fp16's 65504 (d saturated, quants clamped at +-127).
BOOST_AUTO_TEST_CASE(fp16_overflow_sum_and_saturated_d_bit_exact) {
  uint64_t seed = 0x0F16;
  for (int m : {1, 4}) {
    for (int64_t k : {256, 4096}) {
      ExpectBitExact(kernels::MakeActivations(++seed, kernels::Fp16OverflowSumSpec(m, k)).values, m, k,
                     "fp16-overflow-sum");
    }
  }
  std::vector<float> x = kernels::GaussianVector(78, 256);
  for (int i = 0; i < 32; ++i) x[i] = (i % 2 ? -1.0f : 1.0f) * (1e9f + 1e7f * i);  // d saturates
  for (int i = 32; i < 64; ++i) x[i] = 8.4e6f * std::sin(0.3f * i + 1.0f);        // around the limit
  x[40] = 65504.0f * 127.0f;
  for (int i = 64; i < 96; ++i) x[i] = -3.0e38f / (i - 60);  // near float's top: q = -127, s = -65504 * 4064
  ExpectBitExact(x, 1, 256, "saturation");
}

BOOST_AUTO_TEST_CASE(massive_activations_bit_exact) {
  uint64_t seed = 0x3A551;
  for (int m : {1, 2, 8}) {
    for (int64_t k : {256, 14336}) {
      const kernels::Activations a =
          kernels::MakeActivations(++seed, {.rows = m, .cols = k, .massive_channels = 4});
      ExpectBitExact(a.values, m, k, "massive");
    }
  }
}

// Blocks that exercise the edges: all zero (d = 0, so 1/d is not taken),
// one nonzero value, values whose d underflows fp16 to a subnormal or to 0,
// values near fp16's largest d (absmax ~ 127 * 65504), exact halves of a
// step (x / d lands near k + 0.5), and both signs of the extreme.
BOOST_AUTO_TEST_CASE(edge_blocks_bit_exact) {
  const int64_t k = 256;
  std::vector<float> x = kernels::GaussianVector(77, k);
  for (int i = 0; i < 32; ++i) x[i] = 0.0f;                          // block 0: zeros
  for (int i = 32; i < 64; ++i) x[i] = 0.0f;                         // block 1: one value
  x[40] = -3.25f;
  for (int i = 64; i < 96; ++i) x[i] = 1e-30f * (i - 80);            // block 2: d underflows
  for (int i = 96; i < 128; ++i) x[i] = 3e-6f * std::sin(0.7f * i);  // block 3: subnormal d
  for (int i = 128; i < 160; ++i) x[i] = 8.0e6f * std::cos(1.3f * i);  // block 4: d near 65504
  for (int i = 160; i < 192; ++i) x[i] = (i - 176) + 0.5f;           // block 5: halves, absmax 16.5
  x[160] = 127.0f;                                                   // ... d = 1: exact ties
  for (int i = 192; i < 224; ++i) x[i] = -static_cast<float>(i - 192) / 31.0f;  // block 6: negative max
  ExpectBitExact(x, 1, k, "edges");
}

}  // namespace
}  // namespace kpolicy::gputest

namespace {
bool InitTests() {
  boost::unit_test::framework::master_test_suite().p_name.value = "gpu_quantize_q8_1";
  return true;
}
}  // namespace

int main(int argc, char** argv) { return kpolicy::gputest::GpuTestMain(argc, argv, &InitTests); }
