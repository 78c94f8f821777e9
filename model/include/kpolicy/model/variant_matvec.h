// VariantMatVec: a GEMV variant inside a real model. The variant is a
// function (GemvFunction: a table row's CPU emulation, or a GPU kernel
// behind the same signature) that this MatVec runs on every matrix of one
// block format, Q4_K or Q6_K; the model's other matrices go to another
// MatVec (normally the fp64 reference), so a model-level measurement
// (model_parity.h) sees that variant's arithmetic and nothing else.
//
// Which matrices, FormatMatrices says:
//  - AsStored: those whose GGUF type is the format, their file bytes as they
//    are (Gemma 3 270M Q4_K_M: 27 Q4_K and 9 Q6_K of its 127 product
//    matrices; SmolLM2-135M Q4_1: none).
//  - Requantized (`--requantize q4k|q6k`): every matrix of the model decoded
//    and requantised to the format once (kernels::RequantizeMatrix), rows
//    zero-padded to a multiple of 256 columns. The tied output projection
//    (token_embd used as output) is requantised with the rest, since a GPU
//    runs the logits product through the same GEMV kernels and that is the
//    product that writes the logits directly; leaving it out would hide the
//    variant's effect where it is largest. The embedding *lookup* is not a
//    product: it stays exact (the decoder reads the file's token_embd).
//    The comparison must then be against the same requantised weights, or
//    it would measure the requantisation instead of the kernel:
//    RequantizedReference gives the fp64 reference over them.
//
// Precision crossings: the decoder's activations are double; the variant
// gets them as float (the GPU kernels take fp32 activations), columns past
// the matrix's own width set to zero (exact: the padded weights multiply
// zeros), and its float outputs are widened back to double.
//
// Thread-safety: FormatMatrices is immutable after creation. A
// VariantMatVec is used by one decoder at a time; with threads > 1 it calls
// the GemvFunction concurrently on disjoint row ranges of a matrix, so the
// function must then be safe to call from several threads (a pure CPU
// emulation is; pass threads = 1 for a GPU kernel).
// Cost: AsStored copies nothing; Requantized holds the requantised bytes
// (Q4_K 4.5, Q6_K 6.56 bits per weight) and decodes and quantises each
// weight once (about a second per 100M weights on two cores).
#ifndef KPOLICY_MODEL_VARIANT_MATVEC_H_
#define KPOLICY_MODEL_VARIANT_MATVEC_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/kernels/weights.h"
#include "kpolicy/model/matvec.h"
#include "kpolicy/model/model_weights.h"

namespace kpolicy::model {

// y (m x weights.rows, row-major) = x (m x weights.cols) * W^T in a
// variant's arithmetic, e.g. a variant table row's `emulate` (gemv_variants.h) or its GPU kernel.
using GemvFunction =
    std::function<std::vector<float>(const kernels::WeightView& weights, std::span<const float> x, int64_t m)>;

// The CPU emulation of one arithmetic class (kernels/emulation.h:
// EmulateFloatPath or EmulateDp4aPath with their default options, as
// a table row of that class emulates it), for tools and
// tests that measure a class without a variant table row or a GPU. Pure:
// safe with threads > 1.
GemvFunction CpuEmulation(kernels::Arithmetic arithmetic);

// The matrices of a model a variant runs, in one format, by tensor name.
class FormatMatrices {
 public:
  // The matrices stored in `format` (kQ4K or kQ6K), viewed in place: the
  // weights must outlive the result. Errors: another format.
  static Expected<FormatMatrices> AsStored(const ModelWeights& weights, kernels::WeightFormat format);

  // Every matrix of the model requantised to `format` (see the header
  // comment; the tied output included). threads <= 0: all cores. Errors:
  // another format, a matrix that does not decode (named).
  static Expected<FormatMatrices> Requantized(const ModelWeights& weights, kernels::WeightFormat format,
                                              int threads = 0);

  kernels::WeightFormat format() const { return format_; }
  bool requantized() const { return requantized_; }
  // The matrix's weights in the format (cols padded to a multiple of 256),
  // or nullptr when this set does not hold it.
  const kernels::WeightView* Find(const std::string& name) const;
  // Every matrix of the set, by tensor name (e.g. to upload each once).
  const std::unordered_map<std::string, kernels::WeightView>& views() const { return views_; }
  // How many matrices, and how many of the model's weights (unpadded) they
  // hold.
  int64_t count() const { return static_cast<int64_t>(views_.size()); }
  int64_t weight_count() const { return weight_count_; }

 private:
  explicit FormatMatrices(kernels::WeightFormat format) : format_(format) {}

  kernels::WeightFormat format_;
  bool requantized_ = false;
  std::unordered_map<std::string, kernels::WeightView> views_;
  // Requantized: the bytes the views point into (one buffer per matrix, so
  // moving this object keeps the views valid).
  std::vector<kernels::WeightMatrix> owned_;
  int64_t weight_count_ = 0;
};

// The fp64 reference (ReferenceMatVec's arithmetic) over the weights the
// variant sees: matrices in `matrices` decoded from their requantised
// blocks (padding dropped), the others from the file. Errors as
// ReferenceMatVec::Create.
Expected<ReferenceMatVec> RequantizedReference(const ModelWeights& weights, const FormatMatrices& matrices,
                                               int threads = 0);

class VariantMatVec final : public MatVec {
 public:
  // Borrowed: `matrices` and `others` (the MatVec for every matrix not in
  // `matrices`) must outlive this object. threads <= 0: all cores.
  VariantMatVec(const FormatMatrices& matrices, GemvFunction gemv, MatVec& others, int threads = 1);

  // Errors: `others` failing, or the function returning other than
  // positions * rows values.
  Status Apply(const Matrix& matrix, std::span<const double> x, int64_t positions,
               std::span<double> y) override;

  // Products that went through the variant so far, and their multiply-adds
  // (unpadded), for a report to say what the measurement covered.
  int64_t variant_calls() const { return variant_calls_; }
  int64_t variant_multiply_adds() const { return variant_multiply_adds_; }

 private:
  const FormatMatrices& matrices_;
  GemvFunction gemv_;
  MatVec& others_;
  int threads_;
  int64_t variant_calls_ = 0;
  int64_t variant_multiply_adds_ = 0;
};

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_VARIANT_MATVEC_H_
