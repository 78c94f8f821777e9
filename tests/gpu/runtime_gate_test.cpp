// The runtime on a real GPU: every registered GEMV kernel, the fused
// gate+up kernel and every GEMM path this GPU runs pass the load-time
// parity gate against the fp64 reference within their class's bound;
// deliberately broken kernels trip it (one leaving outputs unwritten, one
// computing something else); a broken kernel makes Runtime::Start fall back,
// and one that breaks its fallback too stops it (issue 15 #12); Runtime::Start
// on the device dispatches to GPU kernels with the gate passed.
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include "gpu_test_support.h"
#include "kpolicy/runtime/parity_gate.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::gputest {
namespace {

// HwDp4a launched for half the rows: the rest of y stays poisoned (NaN).
Status HalfTheRows(const kernels::GemvArgs& args) {
  kernels::GemvArgs a = args;
  a.n = args.n / 2;
  return kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a")->launch(a);
}

// HwDp4a, then the first half of each output row copied over the second
// half: every output finite and of the right size, half of them wrong.
Status CopiesHalfTheOutputs(const kernels::GemvArgs& args) {
  const Status s = kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a")->launch(args);
  if (!s.ok()) return s;
  const int64_t half = args.n / 2;
  for (int m = 0; m < args.m; ++m) {
    float* row = args.y + m * args.n;
    KPOLICY_CUDA_CHECK(cudaMemcpyAsync(row + half, row, sizeof(float) * half, cudaMemcpyDeviceToDevice,
                                       static_cast<cudaStream_t>(args.stream)));
  }
  return {};
}

BOOST_AUTO_TEST_CASE(every_registered_kernel_passes_the_gate) {
  for (const kernels::GemvVariant& v : kernels::BuiltinGemvVariants()) {
    const runtime::GateResult r = runtime::CheckGemvKernel(std::string(kernels::GemvOpName(v.op)), v, 3);
    BOOST_TEST(r.passed, r.ToString());
    BOOST_TEST(r.nonfinite == 0);
    BOOST_TEST_MESSAGE(r.ToString());
  }
}

BOOST_AUTO_TEST_CASE(the_fused_kernel_and_every_gemm_path_this_gpu_runs_pass_the_gate) {
  const runtime::GateResult fused = runtime::CheckFusedGateUp();
  BOOST_TEST(fused.passed, fused.ToString());
  BOOST_TEST_MESSAGE(fused.ToString());
  int dev = 0, major = 0, minor = 0;
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaGetDevice(&dev)));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev)));
  KPOLICY_REQUIRE_OK(KPOLICY_CUDA_STATUS(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev)));
  const int cc = major * 10 + minor;
  std::vector<std::pair<std::string, runtime::GatedGemm>> paths = {{"hgemm_decode", runtime::GatedGemm::kFp16},
                                                                   {"w4a16_interleaved", runtime::GatedGemm::kW4a16}};
  if (cc >= 89) {
    paths.push_back({"fp8_decode", runtime::GatedGemm::kFp8});
  } else {
    // Below sm_89 the FP8 path must refuse to run, and the gate fail it.
    const runtime::GateResult r = runtime::CheckGemmPath("fp8_decode", runtime::GatedGemm::kFp8);
    BOOST_TEST(!r.passed, r.ToString());
  }
  for (const auto& [knob, gemm] : paths) {
    const runtime::GateResult r = runtime::CheckGemmPath(knob, gemm);
    BOOST_TEST(r.passed, r.ToString());
    BOOST_TEST(r.nonfinite == 0);
    BOOST_TEST_MESSAGE(r.ToString());
  }
}

BOOST_AUTO_TEST_CASE(a_kernel_that_leaves_outputs_unwritten_fails) {
  kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  broken.launch = &HalfTheRows;
  const runtime::GateResult r = runtime::CheckGemvKernel("q4k", broken, 3);
  BOOST_TEST(!r.passed, r.ToString());
  BOOST_TEST(r.nonfinite > 0);
  BOOST_TEST(r.detail == "non-finite or unwritten outputs");
}

BOOST_AUTO_TEST_CASE(a_kernel_that_computes_something_else_fails) {
  kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  broken.launch = &CopiesHalfTheOutputs;
  const runtime::GateResult r = runtime::CheckGemvKernel("q4k", broken, 3);
  BOOST_TEST(!r.passed, r.ToString());
  BOOST_TEST(r.nonfinite == 0);
  BOOST_TEST(r.cosine < r.bound.min_cosine, r.ToString());
}

BOOST_AUTO_TEST_CASE(a_broken_kernel_makes_the_runtime_fall_back) {
  runtime::StartOptions o;
  o.environment = Environment();
  o.system_policy_path = "";
  // The real gate, except that whatever q4k selects behaves like a broken
  // HwDp4a the first time: the runtime must fall back to Mwv and re-check it.
  int calls = 0;
  o.gate = [&calls](const runtime::DispatchTable& t) {
    std::vector<runtime::GateResult> results = runtime::RunParityGate(t);
    if (calls++ == 0) {
      kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
      broken.launch = &CopiesHalfTheOutputs;
      results[0] = runtime::CheckGemvKernel("q4k", broken, t.mwv_warps);
    }
    return results;
  };
  auto rt = runtime::Runtime::Start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt.ok() ? std::string() : rt.error().ToString()));
  BOOST_TEST((*rt)->dispatch().gpu);
  BOOST_TEST((*rt)->dispatch().q4k == "Mwv");
  BOOST_TEST(!(*rt)->dispatch().fused_gate_up);
  BOOST_TEST((*rt)->gate_results()[0].passed, (*rt)->gate_results()[0].ToString());
  BOOST_TEST((*rt)->log_line().find("fell back to Mwv") != std::string::npos, (*rt)->log_line());
}

// Issue 15 #12 on the device: the first round's q4k kernel is broken, and so
// is q6k's kernel in the second round; startup stops naming both.
BOOST_AUTO_TEST_CASE(a_kernel_broken_in_the_second_round_stops_startup) {
  runtime::StartOptions o;
  o.environment = Environment();
  o.system_policy_path = "";
  int calls = 0;
  o.gate = [&calls](const runtime::DispatchTable& t) {
    std::vector<runtime::GateResult> results = runtime::RunParityGate(t);
    // A kernel leaving half its outputs unwritten stands in for q4k's in
    // the first round and for q6k's in the second (results[0] is q4k's,
    // results[1] q6k's: GateChecksFor's order).
    kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
    broken.launch = &HalfTheRows;
    const bool first = calls++ == 0;
    results[first ? 0 : 1] = runtime::CheckGemvKernel(first ? "q4k" : "q6k", broken, t.mwv_warps);
    return results;
  };
  auto rt = runtime::Runtime::Start(o);
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(calls == 2);
  BOOST_TEST(rt.error().message.find("after falling back from q4k = HwDp4a") != std::string::npos,
             rt.error().message);
  BOOST_TEST(rt.error().message.find("failed too: q6k = HwDp4a") != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(runtime_start_on_this_gpu_dispatches_to_gpu_kernels) {
  runtime::StartOptions o;
  o.environment = Environment();
  o.system_policy_path = "";
  auto rt = runtime::Runtime::Start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt.ok() ? std::string() : rt.error().ToString()));
  BOOST_TEST((*rt)->dispatch().gpu, (*rt)->cpu_only_reason());
  BOOST_TEST((*rt)->decision().device.source.find("local GPU 0") == 0u);
  // q4k, q6k and whatever else the decision turns on on this GPU.
  BOOST_REQUIRE((*rt)->gate_results().size() >= 2u);
  for (const runtime::GateResult& g : (*rt)->gate_results()) BOOST_TEST(g.passed, g.ToString());
  BOOST_TEST_MESSAGE((*rt)->log_line());
}

}  // namespace
}  // namespace kpolicy::gputest

namespace {
bool InitTests() {
  boost::unit_test::framework::master_test_suite().p_name.value = "gpu_runtime_gate";
  return true;
}
}  // namespace

int main(int argc, char** argv) { return kpolicy::gputest::GpuTestMain(argc, argv, &InitTests); }
