// DeviceFacts: what the engine knows about the GPU a decision is for, and
// where each fact came from (the built-in catalog, the command line, a probe
// of the local GPU, or a fallback). Policies read these as `device.*`.
//
// Thread-safety: value type.
#ifndef KPOLICY_DEVICE_H_
#define KPOLICY_DEVICE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expected.h"

namespace kpolicy {

struct DeviceFacts {
  std::string name;          // "NVIDIA H100 SXM5 80GB"
  int cc_major = 0;          // compute capability
  int cc_minor = 0;
  int num_sms = 0;           // streaming multiprocessors
  int64_t memory_mib = 0;    // 0: unknown
  int64_t bandwidth_gbps = 0;  // theoretical memory bandwidth, GB/s; 0: unknown
  int64_t memory_free_mib = 0;  // free device memory when probed; 0: unknown
  std::string driver_version;   // a probed GPU's: "580.159.04"; empty: unknown
  std::string runtime_version;  // the CUDA runtime this build uses: "13.0"
  // Policies read driver_version as `device.driver` and runtime_version as
  // `device.cuda_runtime`, both of type version; text that is not a dotted
  // number ("CUDA driver API 13.0") reads as unknown, below every version.
  std::string source;        // "catalog entry h100", "--cc 12.1 --sms 48", "local GPU 0"
  std::vector<std::string> fallbacks;  // facts that could not be read and what was assumed

  // major*10 + minor, the seed's numeric form (sm_121 -> 121).
  int cc() const { return cc_major * 10 + cc_minor; }
};

// What a policy knows of the model being served (`model.*`), supplied by
// the host at startup or by `--model FILE.gguf`; empty fields: unknown. Parity
// under INT8 activations depends on the model as well as the GPU.
struct ModelFacts {
  std::string architecture;  // GGUF general.architecture: "qwen2"
  std::string name;          // general.name: "Qwen2.5 Coder 1.5B Instruct"
  std::string quantisation;  // the file type: "Q4_K_M"
  std::string size;          // general.size_label: "1.5B"

  bool empty() const { return architecture.empty() && name.empty() && quantisation.empty() && size.empty(); }
  // "qwen2 Qwen2.5 Coder 1.5B (1.5B, Q4_K_M)", or "unknown model".
  std::string Describe() const;
};

// The seed's fallbacks for facts a probe cannot read.
inline constexpr int kFallbackCcMajor = 7;
inline constexpr int kFallbackCcMinor = 0;
inline constexpr int kFallbackNumSms = 8;

// Parses "MAJOR.MINOR" (e.g. "12.1"): major 1..99, minor 0..9, as CUDA
// numbers them. The error (kInvalidInput) says what was wrong.
Expected<std::pair<int, int>> ParseComputeCapability(std::string_view text);

// Facts for a device given only by compute capability and, optionally, SM
// count (`sms` < 0: unknown, the seed's fallback of 8 is used and noted).
DeviceFacts DeviceFromComputeCapability(int major, int minor, int sms, std::string source);

}  // namespace kpolicy

#endif  // KPOLICY_DEVICE_H_
