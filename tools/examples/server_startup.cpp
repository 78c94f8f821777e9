// The README's integration example, built with the project so it stays true:
// what an inference server does at startup with kpolicy.
#include <cstdio>

#include "kpolicy/runtime/runtime.h"

int main() {
  // Policy: KPOLICY_FILE, else /etc/kpolicy/policy.yaml, else the compiled-in default.
  auto rt = kpolicy::runtime::Runtime::Start();
  if (!rt.ok()) {                        // a broken policy never starts with a guess
    std::fprintf(stderr, "%s\n", rt.error().message.c_str());
    return 1;
  }
  for (const auto& gpu : (*rt)->devices()) {  // every local GPU; a host may mix them
    std::puts(gpu.log_line.c_str());          // one JSON line: policy, device, knobs, gate
    const auto& d = gpu.dispatch;             // d.q4k == "Mwv", d.fp8_prefill, d.mwv_warps, ...
    std::printf("GPU %d: q4k %s, q6k %s, %s kernels\n", gpu.ordinal, d.q4k.c_str(), d.q6k.c_str(),
                d.gpu ? "GPU" : "CPU");
  }
  // (*rt)->EffectiveConfigJson(): every knob of every GPU, why, the gate, the policy's sha256
  return 0;
}
