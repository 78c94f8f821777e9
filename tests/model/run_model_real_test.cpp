// `policyctl run --model FILE --prompt-tokens IDS --tokens N --cpu --format
// json` (the fixed interface of DESIGN.md) on the two real models of
// tools/fetch_models.sh ($KPOLICY_MODEL_DIR; label model): the JSON holds N
// generated_tokens, the text they decode to is the English continuation the
// fp64 reference gives, and the CPU path reports no parity table
// ("reference only").
#define BOOST_TEST_MODULE run_model_real
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "commands.h"
#include "kpolicy/json.h"
#include "model_files.h"

namespace kpolicy::tools {
namespace {

JsonValue RunJson(const std::string& model, const std::string& prompt_tokens, int tokens) {
  std::ostringstream out, err;
  Io io{out, err, false, Environment{}, runtime::DeviceProbe{}};
  const int status = RunPolicyctl({"run", "--model", model::ModelPath(model), "--prompt-tokens", prompt_tokens,
                                   "--tokens", std::to_string(tokens), "--cpu", "--format", "json"},
                                  io);
  BOOST_REQUIRE_MESSAGE(status == 0, err.str());
  auto json = ParseJson(out.str());
  BOOST_REQUIRE_MESSAGE(json.ok(), out.str());
  return *json;
}

void CheckRun(const JsonValue& json, int tokens, const std::string& expected_start) {
  const JsonValue* generated = json.Find("generated_tokens");
  BOOST_REQUIRE(generated != nullptr);
  BOOST_TEST(static_cast<int>(generated->items.size()) == tokens);
  const JsonValue* text = json.Find("text");
  BOOST_REQUIRE(text != nullptr);
  BOOST_TEST(text->text.rfind(expected_start, 0) == 0, text->text);
  const JsonValue* parity = json.Find("parity");
  BOOST_REQUIRE(parity != nullptr);
  BOOST_TEST(parity->Find("reference_only") != nullptr);
  BOOST_TEST(json.Find("tokens_per_second") != nullptr);
}

// "<bos>Once upon a time there was a little" in Gemma's vocabulary.
BOOST_AUTO_TEST_CASE(gemma_continues_a_fixed_prompt) {
  CheckRun(RunJson("gemma-3-270m-q4_k_m.gguf", "2,9259,3324,496,990,993,691,496,2268", 12), 12,
           " girl named Mary. She was a very pretty girl.");
}

// "Once upon a time there was a little" in SmolLM2's vocabulary.
BOOST_AUTO_TEST_CASE(smollm_continues_a_fixed_prompt) {
  CheckRun(RunJson("SmolLM2-135M-Instruct.Q4_1.gguf", "6403,1980,253,655,665,436,253,1838", 12), 12,
           " girl named Emma who lived in a small village");
}

}  // namespace
}  // namespace kpolicy::tools
