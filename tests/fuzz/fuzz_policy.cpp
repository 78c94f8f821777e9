// Fuzz target: policy text -> load, validate, compile; a policy that loads
// is evaluated on three catalog GPUs (with no environment, and with every
// declared variable set to "1") and explained as text and JSON. Nothing may
// crash, leak, hang or allocate without bound, whatever the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kpolicy/device_catalog.h"
#include "kpolicy/environment.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/explain.h"
#include "kpolicy/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kpolicy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A folder that does not exist: a relative `extends:` resolves to nothing.
  auto policy = LoadPolicyText(text, "/nonexistent-fuzz-folder/fuzz.yaml");
  if (!policy.ok()) {
    (void)policy.error().ToString();
    return 0;
  }
  Environment set;
  for (const std::string& var : policy->EnvironmentVariables()) set.Set(var, "1");
  const Environment& all_set = set;
  const Environment none;
  for (const char* key : {"t4", "h100", "gb10"}) {
    const DeviceFacts device = FindCatalogDevice(key)->ToFacts();
    for (const Environment* env : {&all_set, &none}) {
      auto decision = Evaluate(*policy, device, *env);
      if (!decision.ok()) {
        (void)decision.error().ToString();
        continue;
      }
      (void)RenderExplainText(*decision, {});
      (void)RenderExplainJson(*decision, {});
    }
  }
  return 0;
}
