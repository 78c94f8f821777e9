// The decoder-layer demo of `policyctl run` (tools/demo/) on the CPU path:
// every matrix of a layer runs in its dispatched variant's arithmetic and
// is compared with the fp64 reference.
#define BOOST_TEST_MODULE decoder_demo
#include <boost/test/unit_test.hpp>

#include "decoder_layers.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::demo {
namespace {

BOOST_AUTO_TEST_CASE(decoder_layers_run_on_the_cpu_path) {
  runtime::StartOptions o;
  o.environment = Environment();
  o.device = FindCatalogDevice("h100")->ToFacts();
  o.system_policy_path = "";
  auto rt = runtime::Runtime::Start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt.ok() ? std::string() : rt.error().ToString()));
  auto result = RunDecoderLayers((*rt)->dispatch(), "qwen2.5-1.5b", 1, 1);
  BOOST_REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error().ToString()));
  BOOST_TEST(!result->gpu);
  BOOST_TEST(result->tokens_per_second > 0);
  BOOST_REQUIRE(result->parity.size() == 7u);
  for (const MatrixParity& p : result->parity) {
    // HwDp4a's INT8 activation rounding on Gaussian inputs: about 0.5% error.
    BOOST_TEST(p.cosine_vs_reference > 0.999, p.name);
    BOOST_TEST(p.cosine_vs_reference < 1.0, p.name << ": the DP4A arithmetic should not be exact");
    // The candidate is the CPU run itself: no error against it is claimed
    // (issue 15: it was the vector compared with itself, always 0).
    BOOST_TEST(!p.error_vs_cpu.has_value(), p.name);
  }
  BOOST_TEST(!RunDecoderLayers((*rt)->dispatch(), "gpt-5", 1, 1).ok());
  BOOST_TEST(!RunDecoderLayers(runtime::DispatchTable{}, "qwen2.5-1.5b", 1, 1).ok());  // nothing bound
}

}  // namespace
}  // namespace kpolicy::demo
