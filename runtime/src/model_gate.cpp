// The model-level startup gate (model_gate.h).
#include "kpolicy/runtime/model_gate.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/model/decoder.h"
#include "kpolicy/model/model_parity.h"
#include "kpolicy/model/model_weights.h"
#include "kpolicy/model/tokenizer.h"
#include "kpolicy/model/variant_matvec.h"
#include "kpolicy/runtime/model_matvec.h"

namespace kpolicy::runtime {

namespace kn = kpolicy::kernels;

namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The model, its reference, and the prompt the sequence starts from.
struct LoadedModel {
  model::ModelConfig config;
  std::unique_ptr<model::ModelWeights> weights;
  std::unique_ptr<model::ReferenceMatVec> reference;
  std::vector<int32_t> prompt;
};

Expected<LoadedModel> Load(const ModelGateOptions& options) {
  auto file = kn::GgufFile::Open(options.path);
  if (!file.ok()) return Fail(file.error());
  auto config = model::ReadModelConfig(*file);
  if (!config.ok()) return Fail(config.error());
  auto weights = model::LoadModelWeights(*file, *config);
  if (!weights.ok()) return Fail(weights.error());
  LoadedModel m;
  m.config = std::move(*config);
  m.weights = std::make_unique<model::ModelWeights>(std::move(*weights));
  auto reference = model::ReferenceMatVec::Create(*m.weights, options.threads);
  if (!reference.ok()) return Fail(reference.error());
  m.reference = std::make_unique<model::ReferenceMatVec>(std::move(*reference));
  // A fixed English prompt where the file has a tokenizer; token 0 where it
  // has none (a synthetic model): the rest of the sequence is the
  // reference's greedy continuation either way.
  auto tokenizer = model::Tokenizer::FromGguf(*file);
  if (tokenizer.ok()) m.prompt = tokenizer->Encode("The capital of France is", tokenizer->adds_bos());
  if (m.prompt.empty()) m.prompt = {0};
  return m;
}

// The candidate for one kernel: its matrices through the kernel (GPU) or its
// row's emulation (CPU), the rest through the reference.
Expected<std::unique_ptr<model::MatVec>> Candidate(const model::FormatMatrices& matrices,
                                                   const kn::GemvVariant& row, const DispatchTable& table,
                                                   model::MatVec& reference, bool gpu, int threads) {
  if (gpu) {
    auto device = DeviceMatVec::Create(matrices, row, table.mwv_warps, reference);
    if (!device.ok()) return Fail(device.error());
    return std::unique_ptr<model::MatVec>(std::move(*device));
  }
  return std::unique_ptr<model::MatVec>(
      std::make_unique<model::VariantMatVec>(matrices, row.emulate, reference, threads));
}

// One measurement of every kernel over `positions` positions.
Expected<std::vector<ModelGateResult>> Measure(const ModelGateOptions& options, LoadedModel& m,
                                               const DispatchTable& table, bool gpu, int64_t positions) {
  const int64_t count = std::max<int64_t>(positions, static_cast<int64_t>(m.prompt.size()));
  auto sequence = model::ReferenceSequence(m.config, *m.weights, *m.reference, m.prompt, count);
  if (!sequence.ok()) return Fail(sequence.error());
  model::Decoder reference_decoder(m.config, *m.weights, *m.reference);
  auto reference_logits = model::TeacherForced(reference_decoder, *sequence);
  if (!reference_logits.ok()) return Fail(reference_logits.error());

  std::vector<ModelGateResult> out;
  for (const kn::GemvOp op : kn::kGemvOps) {
    ModelGateResult r;
    r.knob = std::string(kn::GemvOpName(op));
    r.value = table.gemv_name(op);
    r.runs_on = gpu ? "gpu" : "cpu emulation";
    const kn::GemvVariant* row = table.gemv_kernel(op);
    auto matrices = model::FormatMatrices::AsStored(*m.weights, kn::GemvOpFormat(op));
    if (!row || !matrices.ok() || matrices->count() == 0) {
      r.detail = !row ? "the dispatch table binds no kernel"
                      : "the model stores no " + std::string(kn::WeightFormatName(kn::GemvOpFormat(op))) +
                            " matrix for this kernel to run";
      out.push_back(r);
      continue;
    }
    r.matrices = matrices->count();
    auto candidate = Candidate(*matrices, *row, table, *m.reference, gpu, options.threads);
    if (!candidate.ok()) return Fail(candidate.error());
    model::Decoder decoder(m.config, *m.weights, **candidate);
    auto logits = model::TeacherForced(decoder, *sequence);
    if (!logits.ok()) return Fail(logits.error());
    auto parity = model::CompareLogits(*sequence, *reference_logits, *logits);
    if (!parity.ok()) return Fail(parity.error());
    r.positions = parity->size();
    r.min_cosine = parity->min_cosine;
    r.min_cosine_position = parity->min_cosine_position;
    r.argmax_agreement = parity->argmax_agreement;
    r.first_divergence = parity->first_divergence;
    r.non_finite = parity->non_finite_logits;
    // NaN min_cosine (non-finite logits) fails the comparison.
    const bool ok = r.non_finite == 0 && r.min_cosine >= kModelGateMinCosine && r.argmax_agreement == r.positions;
    r.status = ok ? ModelGateResult::kPassed : ModelGateResult::kFailed;
    if (!ok) r.detail = "FALSIFY-CPU-GPU-008 needs min cosine >= 0.99, every argmax agreeing, no non-finite logit";
    out.push_back(r);
  }
  return out;
}

}  // namespace

Expected<ModelGateOptions> ModelGateOptionsFor(const std::string& path, int64_t budget_ms, const Environment& env) {
  ModelGateOptions o;
  o.path = path;
  if (o.path.empty()) {
    if (const std::string* p = env.Find("KPOLICY_GATE_MODEL")) o.path = *p;
  }
  o.budget_ms = budget_ms;
  if (o.budget_ms <= 0) {
    o.budget_ms = kDefaultModelGateBudgetMs;
    if (const std::string* b = env.Find("KPOLICY_GATE_MODEL_BUDGET_MS")) {
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(b->data(), b->data() + b->size(), v);
      if (ec != std::errc() || end != b->data() + b->size() || v <= 0) {
        return Fail(ErrorCode::kInvalidInput,
                    "KPOLICY_GATE_MODEL_BUDGET_MS='" + *b + "': not a positive integer number of milliseconds");
      }
      o.budget_ms = v;
    }
  }
  return o;
}

const char* ModelGateResult::StatusName() const {
  switch (status) {
    case kPassed: return "passed";
    case kFailed: return "FAILED";
    case kBudgetExceeded: return "budget exceeded";
    case kNotMeasured: return "not measured";
  }
  return "?";
}

std::string ModelGateResult::ToString() const {
  char numbers[200];
  std::snprintf(numbers, sizeof numbers,
                "%lld positions, min cosine %.6f, argmax %lld/%lld, first divergence %lld, non-finite %lld",
                static_cast<long long>(positions), min_cosine, static_cast<long long>(argmax_agreement),
                static_cast<long long>(positions), static_cast<long long>(first_divergence),
                static_cast<long long>(non_finite));
  return "model gate " + knob + " = " + value + " (" + runs_on + ", " + std::to_string(matrices) + " matrices) " +
         StatusName() + ": " + numbers + (detail.empty() ? "" : "; " + detail);
}

Expected<ModelGateReport> RunModelGate(const ModelGateOptions& options, const DispatchTable& table, bool gpu) {
  const Clock::time_point start = Clock::now();
  ModelGateReport report;
  report.path = options.path;
  report.budget_ms = options.budget_ms;
  auto loaded = Load(options);
  if (!loaded.ok()) {
    Error e = std::move(loaded).error();
    e.message = "model gate: " + e.message;
    return Fail(std::move(e));
  }
  const Clock::time_point first_run = Clock::now();
  auto results = Measure(options, *loaded, table, gpu, options.min_positions);
  if (!results.ok()) return Fail(results.error());
  report.positions = options.min_positions;
  const double minimum_done_ms = MillisecondsSince(start);
  // Cost linear in positions, 50% headroom (model_gate.h).
  const double run_ms = std::max(MillisecondsSince(first_run), 1e-3);
  const double left_ms = static_cast<double>(options.budget_ms) - minimum_done_ms;
  const int64_t fit = static_cast<int64_t>(std::floor(options.min_positions * left_ms / (1.5 * run_ms)));
  const int64_t positions = std::min(options.max_positions, fit);
  const bool first_failed = std::any_of(results->begin(), results->end(),
                                        [](const ModelGateResult& r) { return r.status == ModelGateResult::kFailed; });
  if (!first_failed && positions > options.min_positions) {
    auto more = Measure(options, *loaded, table, gpu, positions);
    if (!more.ok()) return Fail(more.error());
    results = std::move(more);
    report.positions = positions;
  }
  report.elapsed_ms = MillisecondsSince(start);
  const double budget = static_cast<double>(options.budget_ms);
  for (ModelGateResult& r : *results) {
    if (r.status != ModelGateResult::kPassed) continue;
    if (minimum_done_ms > budget) {
      r.status = ModelGateResult::kBudgetExceeded;
      r.detail = "loading the model and the minimum of " + std::to_string(options.min_positions) + " positions took " +
                 std::to_string(static_cast<int64_t>(minimum_done_ms)) + " ms, over the " +
                 std::to_string(options.budget_ms) + " ms budget";
    } else if (report.elapsed_ms > budget) {
      // The minimum fitted; the estimate for the longer run was short.
      r.detail = "the run extended to " + std::to_string(report.positions) + " positions overran the budget by " +
                 std::to_string(static_cast<int64_t>(report.elapsed_ms - budget)) + " ms";
    }
  }
  report.results = std::move(*results);
  return report;
}

}  // namespace kpolicy::runtime
