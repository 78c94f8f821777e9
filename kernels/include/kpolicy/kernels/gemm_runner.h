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

// Median microseconds of one RunGemm at `rows` activation rows, timed with
// CUDA events around each call after `warmup` untimed calls; the L2 is
// flushed (a cudaMemset over twice its size) before each timed call, outside
// the events, so the weights come from device memory as in a real
// forward pass. Activations: finite non-zero values.
Expected<double> MedianGemmPathMicroseconds(GemmPath path, const WeightView& weights,
                                                        int rows, int repeats, int warmup = 3);

}  // namespace kpolicy::kernels::gpu

#endif  // KPOLICY_KERNELS_GEMM_RUNNER_H_
