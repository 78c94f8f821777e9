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
  std::puts((*rt)->log_line().c_str());  // one JSON line: policy, device, knobs, gate
  const auto& d = (*rt)->dispatch();     // d.q4k == "HwDp4a", d.fp8_prefill, d.mwv_warps, ...
  std::printf("q4k %s, q6k %s, %s kernels\n", d.q4k.c_str(), d.q6k.c_str(), d.gpu ? "GPU" : "CPU");
  return 0;
}
