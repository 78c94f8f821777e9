// DeviceMatVec in a build without CUDA: there are no kernels to upload to,
// so Create says so (kUnsupported) and no instance exists; callers use the
// CPU reference (model/matvec.h) instead.
#include "kpolicy/runtime/model_matvec.h"

namespace kpolicy::runtime {

struct DeviceMatVec::Kernels {};

DeviceMatVec::DeviceMatVec(const model::FormatMatrices& matrices, const kernels::GemvVariant& variant,
                           int mwv_warps, model::MatVec& others)
    : matrices_(matrices), variant_(variant), mwv_warps_(mwv_warps), others_(others) {}

DeviceMatVec::~DeviceMatVec() = default;

Expected<std::unique_ptr<DeviceMatVec>> DeviceMatVec::Create(const model::FormatMatrices&,
                                                             const kernels::GemvVariant& variant, int,
                                                             model::MatVec&) {
  return Fail(ErrorCode::kUnsupported, std::string(kernels::GemvOpName(variant.op)) + " " +
                                           std::string(variant.name) +
                                           ": this build has no CUDA, so no GEMV kernel runs on a device "
                                           "(use the CPU reference, e.g. policyctl run --model FILE --cpu)");
}

// Unreachable (Create never returns an instance here); kept so that the
// class links in every build.
Status DeviceMatVec::Apply(const model::Matrix& matrix, std::span<const double>, int64_t, std::span<double>) {
  return Fail(ErrorCode::kUnsupported, "matrix " + matrix.name + ": this build has no CUDA");
}

}  // namespace kpolicy::runtime
