// LaunchFusedGateUpQ4kHwDp4a computes silu(gate . x) * (up . x) with
// HwDp4a's arithmetic for both products: against the CPU composition of the
// DP4A emulation within the propagated fp32 bounds, and against the fp64
// composition within those plus the Q8_1 rounding. LaunchFusedGateUpQ4kMwv
// computes it with the float path's arithmetic: against the fp64 composition
// within the propagated FloatPathBound of each product.
//
// Propagation: if |g' - g| <= eg and |u' - u| <= eu, then since
// |silu'| <= 1.0998 everywhere, |silu(g') u' - silu(g) u| <= 1.1 eg (|u| + eu)
// + |silu(g)| eu; the kernel's own evaluation (expf <= 2 ulp, one add, a
// <= 2-ulp __fdividef, one multiply) adds at most 32 * 2^-24 of the result.
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "gpu_test_support.h"
#include "kpolicy/kernels/emulation.h"
#include "kpolicy/kernels/reference.h"

namespace kpolicy::gputest {
namespace {

namespace gpu = kernels::gpu;
using kernels::WeightFormat;

double Silu(double g) { return g / (1.0 + std::exp(-g)); }

void CheckFused(int64_t n, int64_t k, int m, Workload workload, uint64_t seed) {
  BOOST_TEST_CONTEXT("fused gate/up N=" << n << " K=" << k << " M=" << m << " "
                                        << WorkloadName(workload)) {
    const kernels::WeightMatrix gate = MakeWeights(WeightFormat::kQ4K, n, k, workload, seed);
    // The up matrix reads the same massive channels (its seed's channels
    // differ, so damp nothing extra: Gaussian weights for up).
    const kernels::WeightMatrix up = MakeWeights(WeightFormat::kQ4K, n, k, Workload::kGaussian,
                                                 seed ^ 0x5555);
    const std::vector<float> x = MakeActivationsFor(k, m, workload, seed, seed + 17);

    DeviceBuffer dgate(gate.bytes.size()), dup(up.bytes.size()), dx(x.size() * sizeof(float));
    dgate.Upload(gate.bytes.data(), gate.bytes.size());
    dup.Upload(up.bytes.data(), up.bytes.size());
    dx.Upload(x.data(), x.size() * sizeof(float));
    DeviceBuffer q8(gpu::Q8_1ActivationBytes(m, k)), y(static_cast<size_t>(m * n) * sizeof(float));
    y.Poison();
    KPOLICY_REQUIRE_OK(gpu::LaunchQuantizeQ8_1(dx.as<float>(), m, k, q8.get(), nullptr));
    gpu::FusedGateUpArgs args;
    args.gate = dgate.get();
    args.up = dup.get();
    args.x_q8 = q8.get();
    args.y = y.as<float>();
    args.n = n;
    args.k = k;
    args.m = m;
    KPOLICY_REQUIRE_OK(gpu::LaunchFusedGateUpQ4kHwDp4a(args));
    const std::vector<float> got = DownloadFloats(y, m * n);

    const std::vector<float> g_emu = kernels::EmulateDp4aPath(gate.view(), x, m);
    const std::vector<float> u_emu = kernels::EmulateDp4aPath(up.view(), x, m);
    const std::vector<double> g_ref = kernels::ReferenceGemv(gate.view(), x, m);
    const std::vector<double> u_ref = kernels::ReferenceGemv(up.view(), x, m);
    const Dp4aBounds gb = ComputeDp4aBounds(gate.view(), x, m);
    const Dp4aBounds ub = ComputeDp4aBounds(up.view(), x, m);

    const size_t count = got.size();
    std::vector<double> want_emu(count), tol_emu(count), want_ref(count), tol_ref(count);
    auto tolerance = [](double g, double u, double eg, double eu) {
      const double propagated = 1.1 * eg * (std::fabs(u) + eu) + std::fabs(Silu(g)) * eu;
      const double own = 32.0 / 16777216.0 * (std::fabs(Silu(g)) + 1.1 * eg) * (std::fabs(u) + eu);
      return propagated + own;
    };
    for (size_t i = 0; i < count; ++i) {
      want_emu[i] = Silu(g_emu[i]) * u_emu[i];
      tol_emu[i] = tolerance(g_emu[i], u_emu[i], 2.0 * gb.fp32[i], 2.0 * ub.fp32[i]);
      want_ref[i] = Silu(g_ref[i]) * u_ref[i];
      tol_ref[i] = tolerance(g_ref[i], u_ref[i], gb.fp32[i] + gb.quant[i], ub.fp32[i] + ub.quant[i]);
    }
    ExpectWithin("fused vs CPU DP4A composition", got, want_emu, tol_emu, n);
    ExpectWithin("fused vs fp64 composition", got, want_ref, tol_ref, n);

    // The float-activation kernel on the same data.
    y.Poison();
    gpu::FusedGateUpArgs margs = args;
    margs.x_q8 = nullptr;
    margs.x = dx.as<float>();
    KPOLICY_REQUIRE_OK(gpu::LaunchFusedGateUpQ4kMwv(margs));
    const std::vector<float> got_mwv = DownloadFloats(y, m * n);
    const std::vector<double> gf = FloatPathBound(gate.view(), x, m);
    const std::vector<double> uf = FloatPathBound(up.view(), x, m);
    std::vector<double> tol_mwv(count);
    for (size_t i = 0; i < count; ++i) tol_mwv[i] = tolerance(g_ref[i], u_ref[i], gf[i], uf[i]);
    ExpectWithin("fused Mwv vs fp64 composition", got_mwv, want_ref, tol_mwv, n);
  }
}

BOOST_AUTO_TEST_CASE(fused_gate_up_matches_the_composition) {
  uint64_t seed = 0xF05ED;
  for (Workload workload : {Workload::kGaussian, Workload::kMassive}) {
    for (int m : {1, 2, 4, 8}) {
      CheckFused(1003, 256 * 13, m, workload, ++seed);
      CheckFused(61, 256, m, workload, ++seed);
      // Long rows, few of them: 14 and 16 half-warps per row (HwDp4a's
      // split), the latter over several trips of 64 super-blocks.
      CheckFused(37, 256 * 56, m, workload, ++seed);
      CheckFused(9, 256 * 129, m, workload, ++seed);
      // Many rows: the Mwv kernel's warps walk several row groups each.
      CheckFused(9001, 512, m, workload, ++seed);
    }
  }
}

}  // namespace
}  // namespace kpolicy::gputest

namespace {
bool InitTests() {
  boost::unit_test::framework::master_test_suite().p_name.value = "gpu_fused_gate_up";
  return true;
}
}  // namespace

int main(int argc, char** argv) { return kpolicy::gputest::GpuTestMain(argc, argv, &InitTests); }
