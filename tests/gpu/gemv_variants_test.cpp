// Every row of the GEMV variant table (gemv_variants.h), as a
// specification: on fresh seeded data, Gaussian, with massive-activation
// channels and with Q8_1 blocks whose sums exceed fp16 (the block sum s is
// bf16 so that they stay finite), for M = 1..8 and shapes whose super-block
// and row counts are not
// multiples of what a thread group handles per step, with y poisoned to NaN
// before each launch, every output is written, finite, and within the error
// bound its arithmetic allows (gpu_test_support.h derives each bound):
//  - float-activation variants against the fp64 reference, within fp32
//    accumulation rounding;
//  - DP4A variants against the CPU emulation of the same arithmetic
//    (the row's `emulate`, EmulateDp4aPath), within fp32 summation-order rounding, and against the
//    fp64 reference within that plus the Q8_1 rounding of the activations.
// A row added to the table is tested here without a line of change; the
// enum check against policies/default.yaml is tests/kernels/variant_table_test.cpp.
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "gpu_test_support.h"
#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/reference.h"

namespace kpolicy::gputest {
namespace {

namespace gpu = kernels::gpu;
using kernels::WeightFormat;

struct Shape {
  int64_t n, k;
  bool all_m;  // M = 1..8 (small shapes) or M in {1, 2, 4, 8}
};

// K = 256 * 13: 13 super-blocks is prime, so no team's super-blocks per loop
// trip (2, 4, 12, 24, ... with two steps in flight) divides it. N = 1000 is
// a multiple of the 4- and 8-row blocks, so N = 1003, 61 and 259 (prime or
// odd) leave partial last blocks. K = 256 is a single super-block (most of
// every team idle); K = 256 * 56 is Llama-3's ffn_down. The split launches
// (HwDp4a: several half-warps per row, gemv_common.cuh ChooseHalfWarpSplit)
// get their other paths from the last two: K = 256 * 75 gives Q4_K 10
// half-warps per row (an odd count rounded up to whole warps) and Q6_K 16
// half-warps staging 64 + 11 super-blocks in two trips; K = 256 * 129 gives
// both 16 half-warps per row and several trips (Q4_K 128 + 1, Q6_K
// 64 + 64 + 1), with a Q6_K row length (129 * 210 bytes) that is 2 mod 16,
// so every row's staged range starts at a different 16-byte misalignment.
constexpr Shape kShapes[] = {
    {1000, 256 * 13, false},
    {1003, 256 * 5, false},
    {61, 256, true},
    {259, 256 * 11, true},
    {40, 256 * 56, false},
    {33, 256 * 75, false},
    {7, 256 * 129, false},
    // Many short rows: more row groups than a one-wave grid of q4k Mwv v3 holds on any GPU
    // with <= 140 SMs (2 blocks x 8 warps each: 2240 warps < 9001/4 row groups at M = 1), so
    // each warp walks 2-5 row groups with loads issued across the row-group boundary.
    {9001, 256 * 2, false},
};
constexpr Workload kWorkloads[] = {Workload::kGaussian, Workload::kMassive, Workload::kFp16OverflowSum};

WeightFormat FormatOf(kernels::GemvOp op) {
  return op == kernels::GemvOp::kQ4K ? WeightFormat::kQ4K : WeightFormat::kQ6K;
}

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t WeightSeed(kernels::GemvOp op, int shape_index, Workload workload) {
  return Mix(Mix(Mix(0x6B706F6Cull, static_cast<uint64_t>(op)), shape_index),
             static_cast<uint64_t>(workload));
}

// Quantised weights are shared by the variants of one operation (the
// quantiser dominates the CPU time); activations are drawn afresh per case.
const kernels::WeightMatrix& SharedWeights(kernels::GemvOp op, int shape_index, Workload workload) {
  static std::map<std::tuple<int, int, int>, kernels::WeightMatrix> cache;
  const auto key = std::make_tuple(static_cast<int>(op), shape_index, static_cast<int>(workload));
  auto it = cache.find(key);
  if (it == cache.end()) {
    const Shape& s = kShapes[shape_index];
    it = cache.emplace(key, MakeWeights(FormatOf(op), s.n, s.k, workload,
                                        WeightSeed(op, shape_index, workload))).first;
  }
  return it->second;
}

Problem WithFreshActivations(kernels::GemvOp op, int shape_index, Workload workload, int m,
                             uint64_t activation_seed) {
  Problem problem;
  problem.weights = SharedWeights(op, shape_index, workload);
  problem.m = m;
  problem.x = MakeActivationsFor(kShapes[shape_index].k, m, workload,
                                 WeightSeed(op, shape_index, workload), activation_seed);
  return problem;
}

void CheckCase(const kernels::GemvVariant& variant, int shape_index, Workload workload, int m,
               int mwv_warps, uint64_t case_seed) {
  const Shape& s = kShapes[shape_index];
  const Problem problem = WithFreshActivations(variant.op, shape_index, workload, m, case_seed);
  std::ostringstream name;
  name << kernels::GemvOpName(variant.op) << "/" << variant.name << " N=" << s.n << " K=" << s.k
       << " M=" << m << " " << WorkloadName(workload);
  if (variant.uses_mwv_warps) name << " mwv_warps=" << mwv_warps;
  BOOST_TEST_CONTEXT(name.str()) {
    const kernels::WeightView w = problem.weights.view();
    const std::vector<float> got = RunGemv(variant, problem, mwv_warps);
    const std::vector<double> reference = kernels::ReferenceGemv(w, problem.x, m);
    if (!variant.quantizes_activations()) {
      ExpectWithin(name.str() + " vs fp64", got, reference, FloatPathBound(w, problem.x, m), s.n);
      return;
    }
    const Dp4aBounds bounds = ComputeDp4aBounds(w, problem.x, m);
    const std::vector<float> emulated = variant.emulate(w, problem.x, m);  // the row's emulation
    const std::vector<double> emulated_d(emulated.begin(), emulated.end());
    std::vector<double> tight(bounds.fp32.size()), loose(bounds.fp32.size());
    for (size_t i = 0; i < tight.size(); ++i) {
      tight[i] = 2.0 * bounds.fp32[i];
      loose[i] = bounds.fp32[i] + bounds.quant[i];
    }
    ExpectWithin(name.str() + " vs CPU DP4A emulation", got, emulated_d, tight, s.n);
    ExpectWithin(name.str() + " vs fp64", got, reference, loose, s.n);
  }
}

bool IsInvalidArgument(const Status& s) { return !s.ok() && s.error().code == ErrorCode::kInvalidArgument; }

void TestVariant(const kernels::GemvVariant* variant, int variant_index) {
  const uint64_t base = Mix(Mix(0x67656D76ull, static_cast<uint64_t>(variant->op)), variant_index);
  for (int si = 0; si < static_cast<int>(std::size(kShapes)); ++si) {
    for (Workload workload : kWorkloads) {
      for (int m = 1; m <= kernels::kMaxGemvRows; ++m) {
        if (!kShapes[si].all_m && (m & (m - 1)) != 0) continue;  // 1, 2, 4, 8
        const uint64_t seed = Mix(Mix(Mix(base, si), static_cast<uint64_t>(workload)), m);
        CheckCase(*variant, si, workload, m, /*mwv_warps=*/3, seed);
      }
    }
  }
  if (!variant->uses_mwv_warps) return;
  // The policy's range of mwv_warps: 1 (a warp per row), 3 (the default, not a
  // power of two), 4, and 32 (a 1024-thread block per row; most warps idle at
  // small K, which must still leave every output written once).
  for (int warps : {1, 4, 32}) {
    for (int si = 0; si < static_cast<int>(std::size(kShapes)); ++si) {
      for (int m : {1, 3, 8}) {
        const uint64_t seed = Mix(Mix(Mix(base, si), 1000 + warps), m);
        CheckCase(*variant, si, Workload::kGaussian, m, warps, seed);
      }
    }
  }
}

bool InitTests() {
  auto& master = boost::unit_test::framework::master_test_suite();
  master.p_name.value = "gpu_gemv_variants";
  for (kernels::GemvOp op : kernels::kGemvOps) {
    int index = 0;
    for (const kernels::GemvVariant* v : kernels::GemvVariantsOf(op)) {
      const std::string name = std::string(kernels::GemvOpName(op)) + "_" + std::string(v->name);
      const int i = index++;
      master.add(boost::unit_test::make_test_case([v, i] { TestVariant(v, i); }, name, __FILE__,
                                                  __LINE__));
    }
  }
  return true;
}

BOOST_AUTO_TEST_CASE(every_row_has_a_kernel_in_a_cuda_build) {
  for (const kernels::GemvVariant& v : kernels::BuiltinGemvVariants()) BOOST_TEST(v.built(), v.name);
}

BOOST_AUTO_TEST_CASE(invalid_arguments_are_refused_before_launch) {
  const kernels::GemvVariant* v = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  BOOST_REQUIRE(v != nullptr);
  DeviceBuffer w(144 * 4), q8(gpu::Q8_1ActivationBytes(8, 512)), y(4 * 8 * sizeof(float));
  kernels::GemvArgs args;
  args.weights = w.get();
  args.x_q8 = q8.get();
  args.y = y.as<float>();
  args.n = 2;
  args.k = 512;
  args.m = 9;  // > kMaxGemvRows
  BOOST_TEST(IsInvalidArgument(v->launch(args)));
  args.m = 1;
  args.k = 300;  // not a multiple of 256
  BOOST_TEST(IsInvalidArgument(v->launch(args)));
  args.k = 512;
  args.weights = static_cast<const uint8_t*>(w.get()) + 4;  // Q4_K needs 16-byte alignment
  BOOST_TEST(IsInvalidArgument(v->launch(args)));
  const kernels::GemvVariant* mwv = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "Mwv");
  DeviceBuffer x(8 * 512 * sizeof(float));
  kernels::GemvArgs margs;
  margs.weights = w.get();
  margs.x = x.as<float>();
  margs.y = y.as<float>();
  margs.n = 2;
  margs.k = 512;
  margs.mwv_warps = 33;
  BOOST_TEST(IsInvalidArgument(mwv->launch(margs)));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceSynchronize()));
}

}  // namespace
}  // namespace kpolicy::gputest

int main(int argc, char** argv) {
  return kpolicy::gputest::GpuTestMain(argc, argv, &kpolicy::gputest::InitTests);
}
