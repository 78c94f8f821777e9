// DispatchedModelMatVec: the part of model_matvec.h common to every build
// (which matrices go to which dispatched kernel); DeviceMatVec itself is in
// model_matvec_cuda.cpp or model_matvec_none.cpp.
#include "kpolicy/runtime/model_matvec.h"

#include "kpolicy/runtime/runtime.h"

namespace kpolicy::runtime {
namespace {

using kernels::GemvOp;
using kernels::WeightFormat;

Expected<model::FormatMatrices> MatricesFor(const model::ModelWeights& weights, WeightFormat format,
                                            const ModelMatVecOptions& options) {
  if (options.requantize) return model::FormatMatrices::Requantized(weights, format, options.threads);
  return model::FormatMatrices::AsStored(weights, format);
}

// The formats whose kernels run: the requantisation target alone, or both
// GEMV formats as stored.
std::vector<GemvOp> OpsFor(const ModelMatVecOptions& options) {
  if (!options.requantize) return {GemvOp::kQ4K, GemvOp::kQ6K};
  return {*options.requantize == WeightFormat::kQ6K ? GemvOp::kQ6K : GemvOp::kQ4K};
}

}  // namespace

Expected<std::unique_ptr<DispatchedModelMatVec>> DispatchedModelMatVec::Create(const Runtime& runtime,
                                                                               const model::ModelWeights& weights,
                                                                               const ModelMatVecOptions& options) {
  const DispatchTable& dispatch = runtime.dispatch();
  if (!dispatch.gpu) {
    return Fail(ErrorCode::kUnsupported,
                "the runtime runs without GPU kernels (" + runtime.cpu_only_reason() + "), so there is no GPU MatVec");
  }
  if (options.requantize && *options.requantize != WeightFormat::kQ4K && *options.requantize != WeightFormat::kQ6K) {
    return Fail(ErrorCode::kInvalidArgument, "requantisation is to q4k or q6k, not " +
                                                 std::string(kernels::WeightFormatName(*options.requantize)));
  }
  std::unique_ptr<DispatchedModelMatVec> out(new DispatchedModelMatVec());
  const std::vector<GemvOp> ops = OpsFor(options);
  for (GemvOp op : ops) {
    Expected<model::FormatMatrices> matrices = MatricesFor(weights, kernels::GemvOpFormat(op), options);
    if (!matrices.ok()) return Fail(std::move(matrices).error());
    out->formats_.push_back(std::make_unique<model::FormatMatrices>(std::move(*matrices)));
  }
  // The reference decodes requantised matrices from their blocks, so that
  // it holds the weights the kernels multiply by (variant_matvec.h).
  Expected<model::ReferenceMatVec> reference =
      options.requantize ? model::RequantizedReference(weights, *out->formats_.front(), options.threads)
                         : model::ReferenceMatVec::Create(weights, options.threads);
  if (!reference.ok()) return Fail(std::move(reference).error());
  out->reference_ = std::make_unique<model::ReferenceMatVec>(std::move(*reference));

  // Chained from the last format back: each device MatVec hands what it
  // does not hold to the next, the last to the reference.
  model::MatVec* next = out->reference_.get();
  int64_t on_device = 0;
  std::string description;
  for (size_t i = ops.size(); i-- > 0;) {
    const model::FormatMatrices& matrices = *out->formats_[i];
    if (matrices.count() == 0) continue;
    const kernels::GemvVariant* variant = dispatch.gemv_kernel(ops[i]);
    if (variant == nullptr) {
      return Fail(ErrorCode::kUnsupported, weights.file() + " has " + std::to_string(matrices.count()) + " " +
                                               std::string(kernels::GemvOpName(ops[i])) +
                                               " matrices but the dispatch binds no kernel to that knob");
    }
    Expected<std::unique_ptr<DeviceMatVec>> device =
        DeviceMatVec::Create(matrices, *variant, dispatch.mwv_warps, *next);
    if (!device.ok()) return Fail(std::move(device).error());
    next = device->get();
    out->devices_.insert(out->devices_.begin(), std::move(*device));
    on_device += matrices.count();
    description = std::string(kernels::GemvOpName(ops[i])) + " " + std::string(variant->name) + " on " +
                  std::to_string(matrices.count()) + " matrices" + (matrices.requantized() ? " (requantised)" : "") +
                  (description.empty() ? "" : ", ") + description;
  }
  out->top_ = next;
  // The products the decoder makes: seven per layer and the output.
  const int64_t products = static_cast<int64_t>(weights.layers().size()) * 7 + 1;
  out->description_ = (description.empty() ? std::string("no matrix on the device") : description) + ", " +
                      std::to_string(products - on_device) + " on the plain path (CPU fp64 reference)";
  return out;
}

int64_t DispatchedModelMatVec::launches() const {
  int64_t total = 0;
  for (const auto& device : devices_) total += device->launches();
  return total;
}

}  // namespace kpolicy::runtime
