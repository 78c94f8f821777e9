// Shared by the CPU and GPU halves of decoder_layers.h.
#ifndef KPOLICY_RUNTIME_DECODER_LAYERS_INTERNAL_H_
#define KPOLICY_RUNTIME_DECODER_LAYERS_INTERNAL_H_

#include <span>
#include <string>
#include <vector>

#include "kpolicy/kernels/variant_arithmetic.h"
#include "kpolicy/runtime/decoder_layers.h"

namespace kpolicy::runtime::internal {

const kernels::VariantArithmetic& ArithmeticFor(const DispatchTable& t, const LayerMatrix& m);
std::vector<float> Silu(std::span<const float> gate, std::span<const float> up);
std::vector<double> SiluReference(std::span<const double> gate, std::span<const double> up);
MatrixParity Compare(const std::string& name, const std::string& path, std::span<const double> reference,
                     std::span<const float> cpu, std::span<const float> candidate);
std::vector<float> Input(uint64_t seed, int64_t k);

// The GPU half (decoder_layers_cuda.cpp; a build without CUDA says it has none).
Expected<LayerRunResult, std::string> RunOnGpu(const DispatchTable& t, const std::vector<LayerMatrix>& matrices,
                                               int layers, int tokens, int prefill_tokens);

}  // namespace kpolicy::runtime::internal

#endif  // KPOLICY_RUNTIME_DECODER_LAYERS_INTERNAL_H_
