#include "batch.h"

#include <algorithm>

#include "kpolicy/device_catalog.h"
#include "kpolicy/environment.h"
#include "kpolicy/evaluator.h"
#include "kpolicy/explain.h"
#include "kpolicy/json.h"
#include "kpolicy/limits.h"
#include "kpolicy/spelling.h"

namespace kpolicy::tools {
namespace {

struct BatchCase {
  DeviceFacts device;
  ModelFacts model;
  Environment env;
};

// "model": {"architecture": "qwen2", "name": ..., "quantisation": "Q4_K_M", "size": "1.5B"}
Expected<ModelFacts, std::string> ReadModelFacts(const JsonValue& m) {
  if (m.kind != JsonValue::kObject) return Fail(std::string("'model' is an object of strings"));
  ModelFacts out;
  const std::pair<const char*, std::string ModelFacts::*> kFields[] = {
      {"architecture", &ModelFacts::architecture}, {"name", &ModelFacts::name},
      {"quantisation", &ModelFacts::quantisation}, {"size", &ModelFacts::size}};
  for (const auto& [key, value] : m.members) {
    auto field = std::find_if(std::begin(kFields), std::end(kFields),
                              [&name = key](const auto& f) { return name == f.first; });
    if (field == std::end(kFields)) {
      return Fail("unknown model key '" + key + "'; keys: architecture, name, quantisation, size");
    }
    if (value.kind != JsonValue::kString) return Fail("model '" + key + "' is a string");
    out.*(field->second) = value.text;
  }
  return out;
}

// Reads one case; the error says what is wrong with the line.
Expected<BatchCase, std::string> ReadCase(std::string_view line) {
  auto parsed = ParseJson(line);
  if (!parsed.ok()) return Fail("not JSON: " + parsed.error().message);
  const JsonValue& c = *parsed;
  if (c.kind != JsonValue::kObject) return Fail(std::string("a case is a JSON object"));
  static const std::vector<std::string> kKeys = {"cc", "sms", "env", "device", "driver", "cuda_runtime",
                                                  "memory_free_mib", "model"};
  for (const auto& [key, value] : c.members) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return Fail("unknown key '" + key + "'" + DidYouMean(key, kKeys) +
                  "; keys: cc, sms, env, device, driver, cuda_runtime, memory_free_mib, model");
    }
  }
  const JsonValue* cc = c.Find("cc");
  const JsonValue* sms = c.Find("sms");
  const JsonValue* device = c.Find("device");
  DeviceFacts facts;
  if (device) {
    if (cc || sms) return Fail(std::string("give 'device' or 'cc'/'sms', not both"));
    if (device->kind != JsonValue::kString) return Fail(std::string("'device' is a catalog name string"));
    auto entry = FindCatalogDevice(device->text);
    if (!entry) return Fail("unknown device '" + device->text + "'");
    facts = entry->ToFacts();
  } else {
    if (!cc) return Fail(std::string("missing 'cc' (e.g. \"cc\":\"9.0\")"));
    if (cc->kind != JsonValue::kString) return Fail(std::string("'cc' is a string such as \"12.1\""));
    auto parsed_cc = ParseComputeCapability(cc->text);
    if (!parsed_cc.ok()) return Fail(parsed_cc.error().message);
    int sm_count = -1;
    if (sms) {
      const bool integral = sms->kind == JsonValue::kNumber &&
                            sms->text.find_first_of(".eE-") == std::string::npos &&
                            sms->text.size() <= 6;
      if (!integral || std::stoi(sms->text) < 1) {
        return Fail(std::string("'sms' is a positive integer"));
      }
      sm_count = std::stoi(sms->text);
    }
    facts = DeviceFromComputeCapability(parsed_cc->first, parsed_cc->second, sm_count, "batch");
  }
  for (auto [key, field] : {std::pair{"driver", &DeviceFacts::driver_version},
                            std::pair{"cuda_runtime", &DeviceFacts::runtime_version}}) {
    const JsonValue* v = c.Find(key);
    if (!v) continue;
    if (v->kind != JsonValue::kString || !IsVersionText(v->text)) {
      return Fail(std::string("'") + key + "' is a version string such as \"570.207\"");
    }
    facts.*field = v->text;
  }
  if (const JsonValue* free = c.Find("memory_free_mib")) {
    if (free->kind != JsonValue::kNumber || free->text.find_first_of(".eE-") != std::string::npos ||
        free->text.size() > 12) {
      return Fail(std::string("'memory_free_mib' is a whole number of MiB"));
    }
    facts.memory_free_mib = std::stoll(free->text);
  }
  ModelFacts model;
  if (const JsonValue* m = c.Find("model")) {
    auto read = ReadModelFacts(*m);
    if (!read.ok()) return Fail(read.error());
    model = std::move(read).value();
  }
  Environment env;
  if (const JsonValue* e = c.Find("env")) {
    if (e->kind != JsonValue::kObject) return Fail(std::string("'env' is an object of strings"));
    if (e->members.size() > limits::kEnvironmentEntries) {
      return Fail("'env' has " + std::to_string(e->members.size()) + " variables; the limit is " +
                  std::to_string(limits::kEnvironmentEntries));
    }
    for (const auto& [name, value] : e->members) {
      if (value.kind != JsonValue::kString) {
        return Fail("env value of " + name + " is not a string (write \"" + name + "\":\"1\")");
      }
      env.Set(name, value.text);
    }
  }
  return BatchCase{std::move(facts), std::move(model), std::move(env)};
}

std::string ErrorLine(size_t line_number, const std::string& message) {
  return "{\"error\":" + JsonQuote("line " + std::to_string(line_number) + ": " + message) + "}";
}

}  // namespace

std::string EvaluateBatchLine(const Policy& policy, std::string_view line, size_t line_number,
                              bool& failed, EvaluationBudget* budget) {
  failed = true;
  auto input = ReadCase(line);
  if (!input.ok()) return ErrorLine(line_number, input.error());
  auto decision = Evaluate(policy, input->device, input->model, input->env, {}, nullptr, budget);
  if (!decision.ok()) return ErrorLine(line_number, decision.error().ToString());
  failed = false;
  return RenderDecisionJson(*decision);
}

namespace {

enum class LineRead { kLine, kEnd, kTooLong };

// The next line of `in` without its newline, at most `max` bytes: a longer
// one is not read further (a stream without newlines, /dev/zero through a
// pipe, never ends).
LineRead ReadBoundedLine(std::streambuf& in, std::string& line, size_t max) {
  line.clear();
  for (int c = in.sbumpc(); c != std::char_traits<char>::eof(); c = in.sbumpc()) {
    if (c == '\n') return LineRead::kLine;
    if (line.size() == max) return LineRead::kTooLong;
    line.push_back(static_cast<char>(c));
  }
  return line.empty() ? LineRead::kEnd : LineRead::kLine;
}

}  // namespace

BatchResult RunBatch(const Policy& policy, std::istream& in, std::ostream& out, const std::string& source) {
  BatchResult result;
  EvaluationBudget budget;
  std::string line, buffer;
  auto stop = [&](int column, std::string message) {
    result.stopped = Diagnostic{Severity::kError, {source, static_cast<int>(result.cases) + 1, column}, std::move(message)};
  };
  while (true) {
    const LineRead read = ReadBoundedLine(*in.rdbuf(), line, limits::kBatchLineBytes);
    if (read == LineRead::kEnd) break;
    if (read == LineRead::kTooLong) {
      stop(static_cast<int>(limits::kBatchLineBytes) + 1,
           "batch line longer than the limit of " + std::to_string(limits::kBatchLineBytes) + " bytes");
      break;
    }
    if (result.cases == limits::kBatchLines) {
      stop(1, "more than " + std::to_string(limits::kBatchLines) + " lines: the limit of cases in one batch");
      break;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool failed = false;
    const std::string answer = EvaluateBatchLine(policy, line, result.cases + 1, failed, &budget);
    if (budget.spent()) {
      stop(1, "batch stopped: " + budget.Message() + "; the lines before this one are answered");
      break;
    }
    ++result.cases;
    buffer += answer;
    buffer += '\n';
    result.errors += failed;
    if (buffer.size() > (1 << 16)) {
      out << buffer;
      buffer.clear();
    }
  }
  out << buffer;
  out.flush();
  return result;
}

}  // namespace kpolicy::tools
