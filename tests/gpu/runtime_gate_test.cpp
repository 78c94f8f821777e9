// The runtime on a real GPU: every registered GEMV kernel passes the
// load-time parity gate, deliberately broken kernels trip it (one leaving
// outputs unwritten, one computing something else), and Runtime::Start on
// the device dispatches to GPU kernels with the gate passed.
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
  }
}

BOOST_AUTO_TEST_CASE(a_kernel_that_leaves_outputs_unwritten_fails) {
  kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  broken.launch = &HalfTheRows;
  const runtime::GateResult r = runtime::CheckGemvKernel("q4k", broken, 3);
  BOOST_TEST(!r.passed, r.ToString());
  BOOST_TEST(r.nonfinite > 0);
  BOOST_TEST(r.detail == "non-finite outputs");
}

BOOST_AUTO_TEST_CASE(a_kernel_that_computes_something_else_fails) {
  kernels::GemvVariant broken = *kernels::FindGemvVariant(kernels::GemvOp::kQ4K, "HwDp4a");
  broken.launch = &CopiesHalfTheOutputs;
  const runtime::GateResult r = runtime::CheckGemvKernel("q4k", broken, 3);
  BOOST_TEST(!r.passed, r.ToString());
  BOOST_TEST(r.nonfinite == 0);
  BOOST_TEST(r.error_vs_cpu > runtime::kGateMaxErrorVsCpu, r.ToString());
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

BOOST_AUTO_TEST_CASE(runtime_start_on_this_gpu_dispatches_to_gpu_kernels) {
  runtime::StartOptions o;
  o.environment = Environment();
  o.system_policy_path = "";
  auto rt = runtime::Runtime::Start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt.ok() ? std::string() : rt.error().ToString()));
  BOOST_TEST((*rt)->dispatch().gpu, (*rt)->cpu_only_reason());
  BOOST_TEST((*rt)->decision().device.source.find("local GPU 0") == 0u);
  BOOST_REQUIRE((*rt)->gate_results().size() == 2u);
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
