// The GPU tests' skip decision (device_presence.h), on every build: a GPU
// test is skipped only on a machine without a CUDA device, and fails on a
// driver that is there but broken or too old.
#define BOOST_TEST_MODULE device_presence
#include <boost/test/unit_test.hpp>

#include "device_presence.h"

namespace kpolicy::gputest {
namespace {

BOOST_AUTO_TEST_CASE(no_device_or_no_driver_skips) {
  BOOST_TEST((ClassifyDeviceCount(kCudaErrorNoDevice, 0, 13000) == DevicePresence::kNoDevice));
  BOOST_TEST((ClassifyDeviceCount(kCudaSuccess, 0, 13000) == DevicePresence::kNoDevice));
  BOOST_TEST((ClassifyDeviceCount(kCudaErrorInsufficientDriver, 0, 0) == DevicePresence::kNoDevice));
}

BOOST_AUTO_TEST_CASE(a_device_runs_the_tests) {
  BOOST_TEST((ClassifyDeviceCount(kCudaSuccess, 1, 13000) == DevicePresence::kPresent));
  BOOST_TEST((ClassifyDeviceCount(kCudaSuccess, 8, 13000) == DevicePresence::kPresent));
}

BOOST_AUTO_TEST_CASE(driver_faults_fail) {
  // A driver older than the runtime: the same error code as no driver, but
  // cudaDriverGetVersion names a version.
  BOOST_TEST((ClassifyDeviceCount(kCudaErrorInsufficientDriver, 0, 12020) == DevicePresence::kBroken));
  for (int code : {3 /* initialization error */, 46 /* devices unavailable */, 304 /* operating system */,
                   803 /* system driver mismatch */, 804 /* compat not supported */, 999 /* unknown */}) {
    BOOST_TEST((ClassifyDeviceCount(code, 0, 13000) == DevicePresence::kBroken), "cudaError " << code);
    BOOST_TEST((ClassifyDeviceCount(code, 0, 0) == DevicePresence::kBroken), "cudaError " << code);
  }
}

}  // namespace
}  // namespace kpolicy::gputest
