// The probe for builds with the CUDA toolkit (plain C++ over the runtime API).
#include <cuda_runtime_api.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "kpolicy/runtime/device_probe.h"

namespace kpolicy::runtime {
namespace {

// The kernel module's version ("580.159.04"), the first number-like word
// after "Kernel Module" in /proc/driver/nvidia/version (the open module's
// line reads "... Open Kernel Module for x86_64  580.159.04 ..."); else the
// CUDA driver API version.
std::string DriverVersion() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (std::getline(in, line)) {
    const size_t at = line.find("Kernel Module");
    std::istringstream words(at == std::string::npos ? "" : line.substr(at));
    for (std::string word; words >> word;) {
      if (std::isdigit(static_cast<unsigned char>(word[0])) && word.find('.') != std::string::npos) return word;
    }
  }
  int v = 0;
  cudaDriverGetVersion(&v);
  return "CUDA driver API " + std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string RuntimeVersion() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace

bool BuildHasCuda() { return true; }

Expected<DeviceFacts> ProbeLocalDevice(int ordinal) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    return Fail(ErrorCode::kDevice, "no usable GPU: " + std::string(cudaGetErrorString(e)));
  }
  if (ordinal < 0 || ordinal >= count) {
    return Fail(ErrorCode::kNotFound, "no GPU " + std::to_string(ordinal) + ": this machine has " + std::to_string(count));
  }
  DeviceFacts d;
  d.source = "local GPU " + std::to_string(ordinal) + " (CUDA runtime)";
  d.driver_version = DriverVersion();
  d.runtime_version = RuntimeVersion();
  auto attribute = [&](cudaDeviceAttr attr, const char* what, int fallback, int& out) {
    cudaError_t e = cudaDeviceGetAttribute(&out, attr, ordinal);
    if (e == cudaSuccess) return true;
    out = fallback;
    d.fallbacks.push_back(std::string(what) + " unreadable (" + cudaGetErrorString(e) +
                          "): assumed " + std::to_string(fallback));
    return false;
  };
  int major = 0, minor = 0;
  const bool cc_ok = attribute(cudaDevAttrComputeCapabilityMajor, "compute capability major",
                               kFallbackCcMajor, major) &&
                     attribute(cudaDevAttrComputeCapabilityMinor, "compute capability minor",
                               kFallbackCcMinor, minor);
  if (!cc_ok) {  // the seed falls back to 7.0 as a whole
    major = kFallbackCcMajor;
    minor = kFallbackCcMinor;
  }
  d.cc_major = major;
  d.cc_minor = minor;
  attribute(cudaDevAttrMultiProcessorCount, "SM count", kFallbackNumSms, d.num_sms);

  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, ordinal) == cudaSuccess) {
    d.name = prop.name;
    d.memory_mib = static_cast<int64_t>(prop.totalGlobalMem >> 20);
  } else {
    d.name = "GPU " + std::to_string(ordinal);
  }
  // Free memory needs a context on the device; reading it creates one, which
  // the runtime would create moments later anyway.
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaSetDevice(ordinal) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
    d.memory_free_mib = static_cast<int64_t>(free_bytes >> 20);
  }
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, ordinal) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ordinal) == cudaSuccess) {
    // Double data rate: two transfers per clock over the whole bus.
    d.bandwidth_gbps = static_cast<int64_t>(2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9);
  }
  return d;
}

Expected<std::vector<DeviceFacts>> ProbeLocalDevices() {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    return Fail(ErrorCode::kDevice, "no usable GPU: " + std::string(cudaGetErrorString(e)));
  }
  if (count == 0) return Fail(ErrorCode::kDevice, "no usable GPU: the CUDA runtime lists none");
  std::vector<DeviceFacts> devices;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    auto d = ProbeLocalDevice(ordinal);
    if (!d.ok()) return Fail(std::move(d).error());
    devices.push_back(std::move(d).value());
  }
  // ProbeLocalDevice made the last device current (reading free memory);
  // GPU 0 is what a process starts on, so it is left current.
  SelectLocalDevice(0);
  return devices;
}

Status SelectLocalDevice(int ordinal) {
  if (cudaError_t e = cudaSetDevice(ordinal); e != cudaSuccess) {
    return Fail(ErrorCode::kDevice, "cannot use GPU " + std::to_string(ordinal) + ": " + cudaGetErrorString(e));
  }
  return {};
}

}  // namespace kpolicy::runtime
