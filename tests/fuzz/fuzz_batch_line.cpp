// Fuzz target: `policyctl eval --batch` input (JSON lines) against the
// built-in default policy: every line gives one output line, a decision or
// an {"error":...}, and nothing else happens.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "batch.h"
#include "kpolicy/builtin_policy.h"
#include "kpolicy/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kpolicy;
  static const Policy policy = [] {
    auto loaded = LoadPolicyText(BuiltinDefaultPolicyText(), std::string(kBuiltinDefaultPolicyName));
    if (!loaded.ok()) std::abort();  // the built-in default always loads (a unit test holds it)
    return std::move(loaded).value();
  }();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::ostringstream out;
  const tools::BatchResult result = tools::RunBatch(policy, in, out);
  // One output line per input line: count them as the batch reader does.
  size_t lines = 0;
  for (char c : out.str()) lines += c == '\n';
  if (lines != result.cases) std::abort();
  return 0;
}
