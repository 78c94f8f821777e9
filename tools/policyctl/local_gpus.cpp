#include "local_gpus.h"

#include "kpolicy/json.h"

namespace kpolicy::tools {
namespace {

std::string DecisionObject(const Decision& d) {
  JsonWriter w;
  WriteDecisionObject(w, d);
  return w.text();
}

std::string Heading(const GpuAnswer& a, size_t ordinal, size_t count) {
  const DeviceFacts& dev = a.decision.device;
  return "GPU " + std::to_string(ordinal) + " of " + std::to_string(count) + ": " + dev.name + ", cc " +
         std::to_string(dev.cc_major) + "." + std::to_string(dev.cc_minor) + "\n";
}

}  // namespace

bool AllDecideAlike(const std::vector<GpuAnswer>& answers) {
  for (const GpuAnswer& a : answers) {
    if (DecisionObject(a.decision) != DecisionObject(answers.front().decision)) return false;
  }
  return true;
}

std::string RenderGpuAnswersText(const std::vector<GpuAnswer>& answers, bool explain) {
  const auto render = [explain](const GpuAnswer& a) {
    return explain ? RenderExplainText(a.decision, a.render) : RenderEvalText(a.decision, a.render);
  };
  if (answers.size() == 1) return render(answers.front());
  std::string out;
  for (size_t i = 0; i < answers.size(); ++i) {
    out += (i ? "\n" : "") + Heading(answers[i], i, answers.size()) + render(answers[i]);
  }
  return out;
}

std::string RenderGpuAnswersJson(const std::vector<GpuAnswer>& answers, bool explain) {
  const auto render = [explain](const Decision& d, const ExplainOptions& o) {
    return explain ? RenderExplainJson(d, o) : RenderEvalJson(d, o) + "\n";
  };
  if (answers.size() == 1) return render(answers.front().decision, answers.front().render);
  JsonWriter w(explain ? 2 : 0);  // as the one-device documents: explain pretty, eval on one line
  w.BeginObject();
  if (AllDecideAlike(answers)) w.Key("decision").Raw(DecisionObject(answers.front().decision));
  w.Key("devices").BeginArray();
  for (size_t i = 0; i < answers.size(); ++i) {
    ExplainOptions numbered = answers[i].render;
    numbered.ordinal = static_cast<int>(i);
    w.Raw(render(answers[i].decision, numbered));
  }
  w.EndArray().EndObject();
  return w.text() + "\n";
}

}  // namespace kpolicy::tools
