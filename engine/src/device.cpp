#include "kpolicy/device.h"

#include <charconv>

namespace kpolicy {

Expected<std::pair<int, int>> ParseComputeCapability(std::string_view text) {
  const std::string shown = "'" + std::string(text) + "'";
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput, "compute capability " + shown + " is not MAJOR.MINOR (e.g. 9.0, 12.1)");
  }
  auto parse = [](std::string_view part, int& out) {
    if (part.empty() || part.size() > 2) return false;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
    std::from_chars(part.data(), part.data() + part.size(), out);
    return true;
  };
  int major = 0, minor = 0;
  if (!parse(text.substr(0, dot), major) || !parse(text.substr(dot + 1), minor)) {
    return Fail(ErrorCode::kInvalidInput, "compute capability " + shown + " is not MAJOR.MINOR (e.g. 9.0, 12.1)");
  }
  if (major < 1) return Fail(ErrorCode::kInvalidInput, "compute capability " + shown + ": major must be 1 or more");
  if (minor > 9) return Fail(ErrorCode::kInvalidInput, "compute capability " + shown + ": minor must be a single digit");
  return std::pair{major, minor};
}

DeviceFacts DeviceFromComputeCapability(int major, int minor, int sms, std::string source) {
  DeviceFacts d;
  d.name = "sm_" + std::to_string(major) + std::to_string(minor) + " device";
  d.cc_major = major;
  d.cc_minor = minor;
  d.source = std::move(source);
  if (sms > 0) {
    d.num_sms = sms;
  } else {
    d.num_sms = kFallbackNumSms;
    d.fallbacks.push_back("SM count not given: assumed " + std::to_string(kFallbackNumSms));
  }
  return d;
}

std::string ModelFacts::Describe() const {
  if (empty()) return "unknown model";
  std::string out = name.empty() ? architecture : name;
  std::string detail;
  for (const std::string* part : {&architecture, &size, &quantisation}) {
    if (part->empty() || *part == out) continue;
    detail += (detail.empty() ? "" : ", ") + *part;
  }
  return detail.empty() ? out : out + " (" + detail + ")";
}

}  // namespace kpolicy
