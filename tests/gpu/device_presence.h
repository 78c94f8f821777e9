// When a GPU test may say "skipped" (exit 77) rather than pass or fail:
// only when the machine has no CUDA device at all. The decision is a pure
// function of what the CUDA runtime answered, so that a CPU-only build
// tests it (device_presence_test.cpp) and the GPU tests apply it
// (gpu_test_support.cpp, GpuTestMain):
//
//   cudaGetDeviceCount                      cudaDriverGetVersion  answer
//   cudaSuccess, count > 0                  -                     present: run the tests
//   cudaSuccess, count 0                    -                     no device: skip
//   cudaErrorNoDevice (100)                 -                     no device: skip
//   cudaErrorInsufficientDriver (35)        0 (no driver at all)  no device: skip
//   cudaErrorInsufficientDriver (35)        a version             broken: fail (a driver
//                                                                 older than the runtime)
//   anything else (initialisation error, system driver mismatch,
//   devices unavailable, unknown, ...)                            broken: fail
//
// The CUDA runtime reports a machine without the NVIDIA driver as
// cudaErrorInsufficientDriver, the same code as an outdated driver; only
// the driver version (0 when libcuda is absent) tells them apart. Header-only
// and CUDA-free: the two codes are CUDA's documented values, and
// gpu_test_support.cpp checks them against cuda_runtime.h.
#ifndef KPOLICY_TESTS_GPU_DEVICE_PRESENCE_H_
#define KPOLICY_TESTS_GPU_DEVICE_PRESENCE_H_

namespace kpolicy::gputest {

inline constexpr int kCudaSuccess = 0;
inline constexpr int kCudaErrorInsufficientDriver = 35;
inline constexpr int kCudaErrorNoDevice = 100;

enum class DevicePresence { kPresent, kNoDevice, kBroken };

// `count_error` is cudaGetDeviceCount's result, `count` the count it gave,
// `driver_version` cudaDriverGetVersion's (0: no driver installed).
inline DevicePresence ClassifyDeviceCount(int count_error, int count, int driver_version) {
  if (count_error == kCudaSuccess) return count > 0 ? DevicePresence::kPresent : DevicePresence::kNoDevice;
  if (count_error == kCudaErrorNoDevice) return DevicePresence::kNoDevice;
  if (count_error == kCudaErrorInsufficientDriver && driver_version == 0) return DevicePresence::kNoDevice;
  return DevicePresence::kBroken;
}

}  // namespace kpolicy::gputest

#endif  // KPOLICY_TESTS_GPU_DEVICE_PRESENCE_H_
