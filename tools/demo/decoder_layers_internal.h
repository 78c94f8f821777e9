// Shared by the CPU and GPU halves of decoder_layers.h.
#ifndef KPOLICY_TOOLS_DEMO_DECODER_LAYERS_INTERNAL_H_
#define KPOLICY_TOOLS_DEMO_DECODER_LAYERS_INTERNAL_H_

#include <span>
#include <string>
#include <vector>

#include "decoder_layers.h"
#include "kpolicy/kernels/gemv_variants.h"

namespace kpolicy::demo::internal {

// The row the table binds for the matrix's format.
const kernels::GemvVariant& VariantFor(const DispatchTable& t, const LayerMatrix& m);
std::vector<float> Silu(std::span<const float> gate, std::span<const float> up);
std::vector<double> SiluReference(std::span<const double> gate, std::span<const double> up);
MatrixParity Compare(const std::string& name, const std::string& path, std::span<const double> reference,
                     std::span<const float> cpu, std::span<const float> candidate);
std::vector<float> Input(uint64_t seed, int64_t k);

// The GPU half (decoder_layers_cuda.cpp; a build without CUDA says it has none).
Expected<LayerRunResult> RunOnGpu(const DispatchTable& t, const std::vector<LayerMatrix>& matrices, int layers, int tokens, int prefill_tokens);

}  // namespace kpolicy::demo::internal

#endif  // KPOLICY_TOOLS_DEMO_DECODER_LAYERS_INTERNAL_H_
