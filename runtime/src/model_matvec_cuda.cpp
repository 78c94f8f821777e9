// DeviceMatVec in a CUDA build: each matrix of the set uploaded once into a
// kernels::gpu::DeviceGemv for the variant; Apply runs the positions in
// groups of up to kMaxGemvRows. Plain C++: the CUDA side is reached only
// through the kernels' API (gemv_runner.h).
#include <algorithm>
#include <unordered_map>

#include "kpolicy/kernels/gemv_runner.h"
#include "kpolicy/runtime/model_matvec.h"

namespace kpolicy::runtime {

struct DeviceMatVec::Kernels {
  std::unordered_map<std::string, kernels::gpu::DeviceGemv> by_name;
};

DeviceMatVec::DeviceMatVec(const model::FormatMatrices& matrices, const kernels::GemvVariant& variant,
                           int mwv_warps, model::MatVec& others)
    : matrices_(matrices), variant_(variant), mwv_warps_(mwv_warps), others_(others),
      kernels_(std::make_unique<Kernels>()) {}

DeviceMatVec::~DeviceMatVec() = default;

Expected<std::unique_ptr<DeviceMatVec>> DeviceMatVec::Create(const model::FormatMatrices& matrices,
                                                             const kernels::GemvVariant& variant, int mwv_warps,
                                                             model::MatVec& others) {
  const std::string label = std::string(kernels::GemvOpName(variant.op)) + " " + std::string(variant.name);
  if (kernels::GemvOpFormat(variant.op) != matrices.format()) {
    return Fail(ErrorCode::kInvalidArgument, label + " multiplies " +
                                                 std::string(kernels::WeightFormatName(kernels::GemvOpFormat(variant.op))) +
                                                 " matrices, not " +
                                                 std::string(kernels::WeightFormatName(matrices.format())));
  }
  if (mwv_warps < 1 || mwv_warps > kernels::kMaxMwvWarps) {
    return Fail(ErrorCode::kInvalidArgument, "mwv_warps " + std::to_string(mwv_warps) + " is outside 1.." +
                                                 std::to_string(kernels::kMaxMwvWarps));
  }
  if (!variant.built()) {
    return Fail(ErrorCode::kUnsupported, label + ": this build has no kernel for the variant");
  }
  std::unique_ptr<DeviceMatVec> out(new DeviceMatVec(matrices, variant, mwv_warps, others));
  for (const auto& [name, view] : matrices.views()) {
    Expected<kernels::gpu::DeviceGemv> gemv = kernels::gpu::DeviceGemv::Create(variant, view);
    if (!gemv.ok()) {
      Error error = std::move(gemv).error();
      error.message = label + ": uploading " + name + ": " + error.message;
      return Fail(std::move(error));
    }
    out->device_weight_bytes_ += gemv->weight_bytes();
    out->kernels_->by_name.emplace(name, std::move(*gemv));
  }
  return out;
}

Status DeviceMatVec::Apply(const model::Matrix& matrix, std::span<const double> x, int64_t positions,
                           std::span<double> y) {
  auto found = kernels_->by_name.find(matrix.name);
  if (found == kernels_->by_name.end()) return others_.Apply(matrix, x, positions, y);
  const int64_t rows = matrix.rows, cols = matrix.cols;
  const int64_t padded = matrices_.Find(matrix.name)->cols;
  if (static_cast<int64_t>(x.size()) != positions * cols || static_cast<int64_t>(y.size()) != positions * rows) {
    return Fail(ErrorCode::kInvalidArgument,
                "matrix " + matrix.name + ": x or y does not hold " + std::to_string(positions) + " positions");
  }
  std::vector<float> x_float;
  for (int64_t first = 0; first < positions; first += kernels::kMaxGemvRows) {
    const int m = static_cast<int>(std::min<int64_t>(kernels::kMaxGemvRows, positions - first));
    // double -> float at the kernel's input; the padded columns are zero.
    x_float.assign(static_cast<size_t>(m * padded), 0.0f);
    for (int64_t p = 0; p < m; ++p) {
      for (int64_t c = 0; c < cols; ++c) x_float[p * padded + c] = static_cast<float>(x[(first + p) * cols + c]);
    }
    Expected<std::vector<float>> out = found->second.Run(x_float, m, mwv_warps_);
    if (!out.ok()) {
      Error error = std::move(out).error();
      error.message = std::string(kernels::GemvOpName(variant_.op)) + " " + std::string(variant_.name) + " on " +
                      matrix.name + ": " + error.message;
      return Fail(std::move(error));
    }
    ++launches_;
    for (int64_t p = 0; p < m; ++p) {
      for (int64_t r = 0; r < rows; ++r) y[(first + p) * rows + r] = (*out)[p * rows + r];
    }
  }
  return {};
}

}  // namespace kpolicy::runtime
