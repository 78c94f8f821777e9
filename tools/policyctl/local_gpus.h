// eval and explain for every GPU of a host: one decision per local GPU (a
// host may mix GPUs), put together as policyctl prints them.
//
// One GPU, or a device given by --device / --cc: the one-device output as
// it always was (JSON {"decision":{...},...}, the fixed shape).
// Several GPUs:
//   text  a section per GPU, headed "GPU N of M: NAME, cc X.Y";
//   JSON  {"decision": {...},   only when every GPU decides every knob alike
//          "devices": [{"ordinal": 0, <the one-device object>}, ...]}
// A script that reads .decision keeps working on a host of identical GPUs,
// where the host has one answer, and finds no .decision on a mixed host,
// where it has none: it fails there instead of reading GPU 0's answer as
// the host's. README.md ("Every GPU of a host") says the same to operators.
//
// Thread-safety: pure functions over value types.
#ifndef KPOLICY_TOOLS_LOCAL_GPUS_H_
#define KPOLICY_TOOLS_LOCAL_GPUS_H_

#include <string>
#include <vector>

#include "kpolicy/decision.h"
#include "kpolicy/explain.h"

namespace kpolicy::tools {

// One GPU's decision and how to render it (its evidence and warnings).
struct GpuAnswer {
  Decision decision;
  ExplainOptions render;
};

// `answers[i]` is GPU i's. `explain`: the trace (explain), else the values (eval).
std::string RenderGpuAnswersText(const std::vector<GpuAnswer>& answers, bool explain);
std::string RenderGpuAnswersJson(const std::vector<GpuAnswer>& answers, bool explain);

// Whether every answer decides every knob alike (what the host-level
// "decision" member stands for).
bool AllDecideAlike(const std::vector<GpuAnswer>& answers);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_LOCAL_GPUS_H_
