// `policyctl run --model FILE` on bad input, in-process (label unit): a
// missing file, a truncated one, an unsupported architecture, malformed
// --prompt-tokens; and the GPU MatVec's factory on a runtime without GPU
// kernels. The real models' runs are run_model_real_test.cpp.
#define BOOST_TEST_MODULE run_model
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "commands.h"
#include "kpolicy/runtime/model_matvec.h"
#include "kpolicy/runtime/runtime.h"
#include "synthetic_model.h"

namespace kpolicy::tools {
namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

Result Policyctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  Io io{out, err, false, Environment{}, runtime::DeviceProbe{}};
  Result r;
  r.status = RunPolicyctl(args, io);
  r.out = out.str();
  r.err = err.str();
  return r;
}

BOOST_AUTO_TEST_CASE(a_missing_model_file_exits_2_naming_it) {
  const std::string path = model::synthetic::TempPath("missing");
  const Result r = Policyctl({"run", "--model", path, "--cpu"});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find(path) != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_truncated_model_file_exits_2_naming_it) {
  model::synthetic::Synthetic s = model::synthetic::MakeModel({}, 7);
  const std::string path = model::synthetic::WriteModel(s, "truncated");
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const Result r = Policyctl({"run", "--model", path, "--cpu"});
  std::filesystem::remove(path);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find(path) != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(an_unsupported_architecture_exits_1_naming_it) {
  model::synthetic::Shape shape;
  shape.arch = "mamba";
  model::synthetic::Synthetic s = model::synthetic::MakeModel(shape, 7);
  const std::string path = model::synthetic::WriteModel(s, "mamba");
  const Result r = Policyctl({"run", "--model", path, "--cpu"});
  std::filesystem::remove(path);
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("mamba") != std::string::npos, r.err);
  BOOST_TEST(r.err.find(path) != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(malformed_prompt_tokens_are_a_usage_error) {
  const Result r = Policyctl({"run", "--model", "any.gguf", "--prompt-tokens", "1,x,3", "--cpu"});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("item 2") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_catalog_name_still_runs_the_demo) {
  const Result r = Policyctl({"run", "--model", "no-such-demo-model", "--device", "h100"});
  // The demo's own error for an unknown name, not a model-file error.
  BOOST_TEST(r.err.find("no-such-demo-model") != std::string::npos, r.err);
  BOOST_TEST(r.err.find(".gguf") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(the_gpu_matvec_needs_gpu_kernels) {
  runtime::StartOptions start;
  start.environment = Environment{};
  start.device = DeviceFromComputeCapability(9, 0, 132, "test");
  start.device_is_real = false;
  auto rt = runtime::Runtime::Start(start);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt.ok() ? std::string() : rt.error().ToString()));
  BOOST_REQUIRE(!(*rt)->dispatch().gpu);
  model::synthetic::Synthetic s = model::synthetic::MakeModel({}, 7);
  const std::string path = model::synthetic::WriteModel(s, "factory");
  auto loaded = model::LoadModel(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE(loaded.ok());
  auto matvec = runtime::DispatchedModelMatVec::Create(**rt, loaded->weights);
  BOOST_REQUIRE(!matvec.ok());
  BOOST_TEST(static_cast<int>(matvec.error().code) == static_cast<int>(ErrorCode::kUnsupported));
  BOOST_TEST(matvec.error().message.find((*rt)->cpu_only_reason()) != std::string::npos, matvec.error().message);
}

}  // namespace
}  // namespace kpolicy::tools
