// Model-level parity: how far a candidate MatVec (a GEMV variant's CPU
// emulation, a GPU kernel) moves a real model's logits from the reference's
// (normally the fp64 ReferenceMatVec), position by position. Both run
// teacher-forced on one token sequence, the prompt followed by the
// reference's own greedy continuation, so position i of both sees the same
// prefix and a divergence cannot snowball into unrelated text: what is
// compared is the arithmetic alone. This is FALSIFY-CPU-GPU-008's
// measurement (issue 11: HwDp4a diverged at position 1 on an RTX 4090 with
// cosine 0.9186 while Mwv kept min cosine 0.9937 over 42 positions).
//
// Per position: the cosine of the two logit vectors, each one's argmax,
// whether they agree, the reference's margin between the two argmaxes (a
// disagreement with a small margin is a near-tie, not a fault), the largest
// absolute logit difference, and the candidate's non-finite logits.
// Summary: min cosine (and where), argmax agreement count out of N, the
// first divergence, the non-finite count. ModelParity is a plain struct;
// WriteJson and FormatTable render it.
//
// Thread-safety: pure functions over caller-owned data; MeasureModelParity
// uses the two MatVecs from the calling thread only (they may use threads
// inside). Cost: MeasureModelParity is two teacher-forced forward passes
// over the sequence; ReferenceSequence one greedy decode; CompareLogits is
// linear in N * n_vocab.
#ifndef KPOLICY_MODEL_MODEL_PARITY_H_
#define KPOLICY_MODEL_MODEL_PARITY_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/json.h"
#include "kpolicy/model/config.h"
#include "kpolicy/model/matvec.h"
#include "kpolicy/model/model_weights.h"

namespace kpolicy::model {

struct PositionParity {
  int64_t position = 0;
  int32_t token = 0;  // the input token at this position (the logits predict the next)
  // Cosine of the reference's and the candidate's logit vectors; NaN when
  // the candidate has a non-finite logit here.
  double cosine = 0;
  int32_t reference_argmax = 0;
  int32_t candidate_argmax = 0;
  bool argmax_agrees = false;
  // reference[reference_argmax] - reference[candidate_argmax] (>= 0; 0 when
  // they agree): how clear the reference's choice was.
  double reference_margin = 0;
  double max_abs_difference = 0;  // max over the vocabulary of |candidate - reference|
  int64_t non_finite = 0;         // candidate logits that are inf or NaN
};

struct ModelParity {
  std::vector<PositionParity> positions;
  // Min over positions of cosine: NaN when any position has non-finite
  // logits, so a gate `min_cosine >= floor` fails there.
  double min_cosine = 0;
  int64_t min_cosine_position = -1;
  int64_t argmax_agreement = 0;   // positions whose argmaxes agree, out of positions.size()
  int64_t first_divergence = -1;  // first position whose argmaxes differ; -1: none
  int64_t non_finite_logits = 0;  // over all positions
  // Wall time of each teacher-forced pass (0 when CompareLogits built it).
  double reference_seconds = 0;
  double candidate_seconds = 0;

  int64_t size() const { return static_cast<int64_t>(positions.size()); }
};

// Compares the two passes' logits; row i belongs to tokens[i]. Errors: row
// counts other than tokens.size(), or rows of different lengths
// (kInvalidArgument).
Expected<ModelParity> CompareLogits(std::span<const int32_t> tokens,
                                    const std::vector<std::vector<double>>& reference,
                                    const std::vector<std::vector<double>>& candidate);

// The sequence to measure on: `prompt` followed by the reference's greedy
// continuation, `positions` tokens in all (end-of-generation tokens do not
// stop it, so the length is exact). Errors: an empty prompt, a prompt
// longer than `positions`, a forward failure.
Expected<std::vector<int32_t>> ReferenceSequence(const ModelConfig& config, const ModelWeights& weights,
                                                 MatVec& reference, std::span<const int32_t> prompt,
                                                 int64_t positions);

// Runs `reference` and `candidate` teacher-forced over `tokens` (batch
// positions per ForwardBatch call, 0: all at once) and compares them.
// Errors: an empty sequence, either pass failing (the message says which).
Expected<ModelParity> MeasureModelParity(const ModelConfig& config, const ModelWeights& weights,
                                         std::span<const int32_t> tokens, MatVec& reference, MatVec& candidate,
                                         int64_t batch = 0);

// {"positions": N, "min_cosine": ..., "min_cosine_position": ...,
//  "argmax_agreement": ..., "first_divergence": P or null,
//  "non_finite_logits": ..., "reference_seconds": ..., "candidate_seconds": ...,
//  "per_position": [{"position", "token", "cosine", "reference_argmax",
//  "candidate_argmax", "argmax_agrees", "reference_margin",
//  "max_abs_difference", "non_finite"}, ...]} as one object value (NaN as
// null). per_position is left out when with_positions is false.
void WriteJson(const ModelParity& parity, JsonWriter& json, bool with_positions = true);

// One line per position (position, token, cosine, both argmaxes, agreement,
// margin, max |difference|), then the summary line.
std::string FormatTable(const ModelParity& parity);
// "min cosine 0.999312 at 7, argmax 32/32, first divergence none, non-finite 0".
std::string FormatSummary(const ModelParity& parity);

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_MODEL_PARITY_H_
