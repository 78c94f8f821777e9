// The model-level startup gate on the real Gemma 3 270M Q4_K_M file (label
// model; tools/fetch_models.sh puts it in $KPOLICY_MODEL_DIR): without a
// GPU it measures the dispatched rows' CPU emulation on the file's 27 Q4_K
// and 9 Q6_K matrices and reports the figures, whatever they are.
#define BOOST_TEST_MODULE model_gate_real
#include <boost/test/unit_test.hpp>

#include "../model/model_files.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::runtime {
namespace {

BOOST_AUTO_TEST_CASE(gemma_q4_k_m_is_measured_within_the_budget_and_reported) {
  StartOptions o;
  o.environment = Environment();
  o.device = FindCatalogDevice("h100")->ToFacts();  // decided for an H100, measured on the CPU
  o.system_policy_path = "";
  o.gate_model_path = model::ModelPath("gemma-3-270m-q4_k_m.gguf");
  o.gate_model_budget_ms = 20000;
  auto rt = Runtime::Start(o);
  // A failed measurement stops startup (there is no fallback left for a
  // DP4A row whose fallback also fails) or falls back: either way the
  // outcome is reported; what must not happen is silence.
  if (!rt.ok()) {
    BOOST_TEST_MESSAGE("startup stopped: " << rt.error().ToString());
    BOOST_TEST(rt.error().message.find("model gate") != std::string::npos, rt.error().message);
    return;
  }
  BOOST_TEST_MESSAGE((*rt)->log_line());
  const auto& report = (*rt)->model_gate();
  BOOST_REQUIRE(report.has_value());
  BOOST_TEST(report->positions >= 8);
  BOOST_TEST(report->elapsed_ms > 0.0);
  for (const ModelGateResult& r : report->results) {
    BOOST_TEST_MESSAGE(r.ToString());
    BOOST_TEST((r.status != ModelGateResult::kNotMeasured), r.ToString());
    BOOST_TEST(r.matrices == (r.knob == "q4k" ? 27 : 9));
    BOOST_TEST(r.positions == report->positions);
  }
}

}  // namespace
}  // namespace kpolicy::runtime
