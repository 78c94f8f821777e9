// Model-level parity rows for a parity record (`policyctl record --model`):
// every Q4_K and Q6_K GEMV variant of the table inside a real model, against
// the CPU fp64 reference, as Measurements of workload model-parity-gate,
// FALSIFY-CPU-GPU-008's (contracts/cpu-gpu-parity.yaml).
//
// One row per variant: every product matrix of the model requantised to the
// variant's format, the tied output included (model/variant_matvec.h says
// why: it is the product that writes the logits), the other arithmetic at
// the reference, so a row measures the variant's arithmetic alone. The
// sequence is the prompt followed by the fp64 reference's greedy
// continuation, `positions` tokens in all, run teacher-forced by both sides
// (model/model_parity.h). Metrics: cosine (the minimum over the positions
// of the logits' cosine), argmax_agreement (the fraction of positions whose
// argmaxes agree), first_divergence (the first position where they differ;
// -1: none), nan_count (non-finite logits, NaN or inf, over all positions).
//
// CUDA-free: where the candidate comes from is the caller's (a variant's
// CPU emulation, or runtime::DeviceMatVec on a GPU).
//
// Thread-safety: one call at a time per ostream. Cost: loading and
// requantising the model twice (once per format), one reference pass per
// format, and one candidate pass per measured variant: about a minute per
// format on two cores for Gemma 3 270M with 32 positions.
#ifndef KPOLICY_TOOLS_MODEL_RECORD_H_
#define KPOLICY_TOOLS_MODEL_RECORD_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "commands.h"
#include "kpolicy/expected.h"
#include "kpolicy/kernels/gemv_variants.h"
#include "kpolicy/model/matvec.h"
#include "kpolicy/model/variant_matvec.h"
#include "kpolicy/parity_record.h"

namespace kpolicy::tools {

inline constexpr const char* kModelParityWorkload = "model-parity-gate";

// The candidate MatVec for one variant over `matrices` (the requantised
// product matrices), sending what it does not hold to `reference`.
using ModelCandidateFactory = std::function<Expected<std::unique_ptr<model::MatVec>>(
    const kernels::GemvVariant& variant, const model::FormatMatrices& matrices, model::MatVec& reference)>;

struct ModelRecordOptions {
  std::string prompt = "Once upon a time there was a little";
  int64_t positions = 32;  // >= 32 (FALSIFY-CPU-GPU-008's N)
  int threads = 0;         // <= 0: all cores
  // true: measure the first variant of each arithmetic class and give its
  // figures to every variant of the class, saying so in `note` (the CPU
  // emulation: variants of one class share arithmetic exactly,
  // kernels/gemv_variants.h). false: measure every variant.
  bool one_per_arithmetic = false;
  std::string candidate_name = "device";  // in notes and logs: "CPU emulation", "device"
};

// Appends one Measurement per Q4_K and Q6_K variant of `table` for the
// model at `path` to `rows`, logging progress to `log`. Errors: the model
// does not load (kUnreadable / kInvalidInput naming the file; kUnsupported
// for its architecture), the factory's, a pass failing.
Status AppendModelParityRows(const std::string& path, const ModelCandidateFactory& candidate,
                             const ModelRecordOptions& options, std::vector<Measurement>& rows, std::ostream& log,
                             kernels::GemvVariantTable table = kernels::BuiltinGemvVariants());

// The factory of the CPU emulation: each variant's `emulate` function.
ModelCandidateFactory EmulationCandidates(int threads);

// `policyctl record --emulate --model FILE... --out F [--positions N]
// [--threads T]`: the rows above from each variant's CPU emulation (one
// pass per arithmetic class), written as a record whose provenance is
// kind "reported" with the command as its source, and whose device says
// that no GPU ran (name "CPU emulation (no GPU) of the sm_75+ kernels' arithmetic",
// cc 7.5, the lowest any variant runs on, and 0 SMs), so that it
// is never mistaken for a GPU's figures: keep it outside contracts/parity/
// (contracts/emulation/). Works in every build, without a GPU. Exit 0, 1 a
// measurement failed, 2 usage or an unreadable model.
int RecordEmulatedModels(const std::vector<std::string>& args, Io& io);

// The exit status for a model that does not load: 1 for kUnsupported (an
// architecture or tensor type the decoder lacks), else 2 (missing,
// truncated, corrupt: unreadable input).
int ModelErrorStatus(const Error& error);

// YYYY-MM-DD, UTC, for provenance.
std::string TodayUtc();

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_MODEL_RECORD_H_
