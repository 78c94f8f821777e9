// The gate's kernel runs in builds with CUDA (parity_gate.h): each path on
// its probe, outputs poisoned (NaN) before the launch so an unwritten
// element fails the finiteness check.
#include <cmath>
#include <limits>
#include <memory>

#include "kpolicy/kernels/cuda_check.h"
#include "kpolicy/kernels/gemm_runner.h"
#include "kpolicy/kernels/gemv_launch.h"
#include "kpolicy/kernels/gemv_runner.h"
#include "kpolicy/runtime/parity_gate.h"

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;
namespace gpu = kpolicy::kernels::gpu;

namespace {

GateResult LaunchFailed(const std::string& knob, const std::string& value, const std::string& path,
                        const GateBound& bound, const Error& error) {
  GateResult r;
  r.knob = knob;
  r.value = value;
  r.path = path;
  r.bound = bound;
  r.detail = "kernel failed: " + error.ToString();
  return r;
}

struct CudaFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DeviceBytes = std::unique_ptr<void, CudaFree>;

Expected<DeviceBytes> Upload(const void* host, size_t bytes) {
  void* p = nullptr;
  KPOLICY_CUDA_CHECK(cudaMalloc(&p, bytes));
  DeviceBytes owned(p);
  if (host) KPOLICY_CUDA_CHECK(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice));
  return owned;
}

// silu(gate . x) * (up . x) through LaunchFusedGateUpQ4kHwDp4a on the host's data.
Expected<std::vector<float>> RunFusedGateUp(const FusedGateUpProbe& probe) {
  const kn::WeightView gate = probe.gate.weights.view(), up = probe.up.view();
  const int m = probe.gate.m;
  const std::vector<float>& x = probe.gate.x.values;
  auto dgate = Upload(gate.bytes.data(), gate.bytes.size());
  if (!dgate.ok()) return Fail(dgate.error());
  auto dup = Upload(up.bytes.data(), up.bytes.size());
  if (!dup.ok()) return Fail(dup.error());
  auto dx = Upload(x.data(), x.size() * sizeof(float));
  if (!dx.ok()) return Fail(dx.error());
  auto dq8 = Upload(nullptr, static_cast<size_t>(gpu::Q8_1ActivationBytes(m, gate.cols)));
  if (!dq8.ok()) return Fail(dq8.error());
  std::vector<float> y(static_cast<size_t>(m) * gate.rows, std::numeric_limits<float>::quiet_NaN());
  auto dy = Upload(y.data(), y.size() * sizeof(float));  // poisoned
  if (!dy.ok()) return Fail(dy.error());
  KPOLICY_TRY(gpu::LaunchQuantizeQ8_1(static_cast<const float*>(dx->get()), m, gate.cols, dq8->get(), nullptr));
  gpu::FusedGateUpArgs args;
  args.gate = dgate->get();
  args.up = dup->get();
  args.x_q8 = dq8->get();
  args.y = static_cast<float*>(dy->get());
  args.n = gate.rows;
  args.k = gate.cols;
  args.m = m;
  KPOLICY_TRY(gpu::LaunchFusedGateUpQ4kHwDp4a(args));
  KPOLICY_CUDA_CHECK(cudaDeviceSynchronize());
  KPOLICY_CUDA_CHECK(cudaMemcpy(y.data(), dy->get(), y.size() * sizeof(float), cudaMemcpyDeviceToHost));
  return y;
}

}  // namespace

GateResult CheckGemvKernel(const std::string& knob, const kn::GemvVariant& variant, int mwv_warps) {
  const GateProbe probe = MakeGateProbe(kn::GemvOpFormat(variant.op));
  const GateBound bound = GateBoundFor(GateArithmeticOf(variant.arithmetic), probe);
  const std::string value(variant.name), path = knob + "_gemv " + value;
  auto gemv = gpu::DeviceGemv::Create(variant, probe.weights.view());
  auto y = gemv.ok() ? gemv->Run(probe.x.values, probe.m, mwv_warps) : Fail(gemv.error());
  if (!y.ok()) return LaunchFailed(knob, value, path, bound, y.error());
  return JudgeGateOutputs(knob, value, path, probe.reference, *y, bound);
}

GateResult CheckFusedGateUp() {
  const FusedGateUpProbe probe = MakeFusedGateUpProbe();
  const GateBound bound = GateBoundFor(GateArithmetic::kDp4aQ8_1, probe.gate);
  const std::string path = "fused gate+up+SwiGLU (HwDp4a)";
  auto y = RunFusedGateUp(probe);
  if (!y.ok()) return LaunchFailed("fused_gate_up", "true", path, bound, y.error());
  return JudgeGateOutputs("fused_gate_up", "true", path, probe.gate.reference, *y, bound);
}

GateResult CheckGemmPath(const std::string& knob, GatedGemm gemm) {
  const GateProbe probe = MakeGateProbe(kn::WeightFormat::kQ4K);
  const gpu::GemmPath path = gemm == GatedGemm::kFp8    ? gpu::GemmPath::kFp8Lt
                             : gemm == GatedGemm::kFp16 ? gpu::GemmPath::kF16Cublas
                                                        : gpu::GemmPath::kW4a16Interleaved;
  const GateBound bound = GateBoundFor(
      gemm == GatedGemm::kFp8 ? GateArithmetic::kFp8E4M3Inputs : GateArithmetic::kFp16Inputs, probe);
  const std::string name(gpu::GemmPathName(path));
  auto y = gpu::RunGemmPathOnHost(path, probe.weights.view(), probe.x.values, probe.m);
  if (!y.ok()) return LaunchFailed(knob, "true", name, bound, y.error());
  return JudgeGateOutputs(knob, "true", name, probe.reference, *y, bound);
}

}  // namespace kpolicy::runtime
