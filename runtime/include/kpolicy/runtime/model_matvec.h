// The GPU MatVec: a real model's weight products run by the GEMV kernels the
// runtime dispatched, behind the decoder's MatVec seam (model/matvec.h), so
// that `policyctl run --model`, `policyctl record --model` and a
// model-level startup gate measure the kernels a server would use.
//
// What runs where:
//  - Every matrix of a FormatMatrices set (model/variant_matvec.h: the
//    Q4_K or Q6_K matrices as stored in the file, or every product matrix
//    requantised to one of them, the tied output included) is uploaded once
//    and multiplied on the device by one GEMV variant (a row of
//    kernels/gemv_variants.h) through kernels::gpu::DeviceGemv.
//  - Every other matrix (Q4_1, Q5_0, Q8_0, F32, ... in the file) goes
//    through the "plain path": the CPU fp64 reference (ReferenceMatVec).
//    There is no GPU kernel in kpolicy for those formats, and the reference
//    adds no error of its own, so a parity figure measured through this
//    MatVec is the dispatched kernels' and nothing else's.
//
// Positions are batched up to the kernels' M limit (kernels::kMaxGemvRows,
// 8): a prefill of P positions costs ceil(P / 8) launches per matrix.
// Precision crossings are VariantMatVec's: double activations are given to
// the kernel as float (padded columns zero, exact since the padded weights
// multiply zeros), float outputs widened back to double.
//
// A build without CUDA compiles all of this; DeviceMatVec::Create and
// DispatchedModelMatVec::Create then fail with kUnsupported, saying so.
//
// CUDA-free header. Thread-safety: a DeviceMatVec owns device memory and is
// used by one thread at a time (the decoder's). Cost: Create uploads each
// matrix's bytes once (Q4_K 4.5, Q6_K 6.56 bits per weight: ~150 MB for
// Gemma 3 270M requantised to Q4_K); each Apply on a device matrix copies
// the activations up and the outputs back and synchronises (DeviceGemv::Run),
// i.e. it is a measuring path, not a serving one.
#ifndef KPOLICY_RUNTIME_MODEL_MATVEC_H_
#define KPOLICY_RUNTIME_MODEL_MATVEC_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/weights.h"
#include "kpolicy/model/matvec.h"
#include "kpolicy/model/model_weights.h"
#include "kpolicy/model/variant_matvec.h"

namespace kpolicy::runtime {

class Runtime;

// One GEMV variant on the device over the matrices of one FormatMatrices set;
// every other matrix goes to `others`.
class DeviceMatVec final : public model::MatVec {
 public:
  // Uploads every matrix of `matrices` for `variant` (whose op's format must
  // be matrices.format()). mwv_warps: the dispatch's, read by the variants
  // with uses_mwv_warps (1..32). Borrowed: `matrices` and `others` must
  // outlive the result. Errors: kUnsupported (a build without CUDA, a row
  // without a kernel), kInvalidArgument (format mismatch, mwv_warps out of
  // range), kDevice (an allocation or copy failed; names the matrix).
  static Expected<std::unique_ptr<DeviceMatVec>> Create(const model::FormatMatrices& matrices,
                                                        const kernels::GemvVariant& variant, int mwv_warps,
                                                        model::MatVec& others);

  ~DeviceMatVec() override;

  // Errors: `others` failing, a shape mismatch (kInvalidArgument), a device
  // failure (kDevice, naming the matrix).
  Status Apply(const model::Matrix& matrix, std::span<const double> x, int64_t positions,
               std::span<double> y) override;

  const kernels::GemvVariant& variant() const { return variant_; }
  int mwv_warps() const { return mwv_warps_; }
  // Launches so far (one per matrix per group of up to 8 positions), and
  // the bytes of weights held on the device.
  int64_t launches() const { return launches_; }
  int64_t device_weight_bytes() const { return device_weight_bytes_; }

 private:
  struct Kernels;  // the uploaded matrices, by tensor name (CUDA builds)

  DeviceMatVec(const model::FormatMatrices& matrices, const kernels::GemvVariant& variant, int mwv_warps,
               model::MatVec& others);

  const model::FormatMatrices& matrices_;
  const kernels::GemvVariant& variant_;
  int mwv_warps_;
  model::MatVec& others_;
  std::unique_ptr<Kernels> kernels_;
  int64_t launches_ = 0;
  int64_t device_weight_bytes_ = 0;
};

struct ModelMatVecOptions {
  // Unset: the matrices as stored (Q4_K ones through the q4k kernel, Q6_K
  // through the q6k kernel, the rest on the plain path). kQ4K / kQ6K: every
  // product matrix requantised to it (policyctl run --requantize), all
  // through that format's kernel.
  std::optional<kernels::WeightFormat> requantize;
  int threads = 0;  // CPU threads for decoding, requantising and the plain path; <= 0: all cores
};

// The decision of a started runtime bound to a model: q4k matrices through
// dispatch().gemv_kernel(kQ4K), q6k through gemv_kernel(kQ6K), with
// dispatch().mwv_warps; plus the CPU fp64 reference over the same weights
// (requantised ones where the GPU runs requantised weights), which is both
// the plain path and what a parity measurement compares with.
//
// Thread-safety and cost: DeviceMatVec's, plus the reference's (4 bytes of
// host memory per weight, decoded once).
class DispatchedModelMatVec {
 public:
  // Borrowed: `weights` must outlive the result (the runtime need not).
  // Errors: kUnsupported when the runtime runs without GPU kernels (its
  // cpu_only_reason() is quoted) or the dispatch has no kernel for a format
  // the model needs; DeviceMatVec::Create's; a matrix that does not decode.
  static Expected<std::unique_ptr<DispatchedModelMatVec>> Create(const Runtime& runtime,
                                                                 const model::ModelWeights& weights,
                                                                 const ModelMatVecOptions& options = {});

  // The dispatched kernels' MatVec (the one to decode with).
  model::MatVec& matvec() { return *top_; }
  // The fp64 reference over the same weights.
  model::ReferenceMatVec& reference() { return *reference_; }
  // "q4k HwDp4a on 27 matrices, q6k Mwv on 9, 91 on the plain path (fp64)".
  const std::string& description() const { return description_; }
  int64_t launches() const;

 private:
  DispatchedModelMatVec() = default;

  std::unique_ptr<model::ReferenceMatVec> reference_;
  std::vector<std::unique_ptr<model::FormatMatrices>> formats_;
  std::vector<std::unique_ptr<DeviceMatVec>> devices_;  // each forwards to the next, the last to reference_
  model::MatVec* top_ = nullptr;
  std::string description_;
};

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_MODEL_MATVEC_H_
