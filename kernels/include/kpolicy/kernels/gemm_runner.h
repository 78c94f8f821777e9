// One GEMM path (gemm_paths.h) run on host data, for measuring parity and
// speed (policyctl record, tests, benchmarks), not for serving: each call
// creates a GemmContext and the path's GemmWeights, uploads the activations,
// poisons y (NaN), runs, waits and copies y back. Every CUDA and cuBLAS call
// is checked; failures come back as values naming the call.
//
// Thread-safety: the functions keep no state; each call uses its own context
// and device memory.
#ifndef KPOLICY_KERNELS_GEMM_RUNNER_H_
#define KPOLICY_KERNELS_GEMM_RUNNER_H_

#include <span>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemm_paths.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels::gpu {

// y (rows x N, row-major) = x (rows x K) * W^T through `path`. Precondition
// (checked): x.size() == rows * weights.cols. Cost: the path's Create cost
// (host dequantisation and an upload of the weights) plus one RunGemm.
Expected<std::vector<float>> RunGemmPathOnHost(GemmPath path, const WeightView& weights,
                                                           std::span<const float> x, int rows);

// Median microseconds of one RunGemm at `rows` activation rows by
// kernel_timing.h's flushed-call method, the one bench_prefill uses: the L2
// flushed before each call (outside the event pair), so the weights come
// from device memory as in a real forward pass; kTimingWarmups untimed
// calls, then `repeats` timed. Activations: finite non-zero values; for the
// FP8 path each call includes their quantisation, as RunGemm does.
Expected<double> MedianGemmPathMicroseconds(GemmPath path, const WeightView& weights, int rows, int repeats);

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMM_RUNNER_H_
