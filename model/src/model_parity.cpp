#include "kpolicy/model/model_parity.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "kpolicy/model/decoder.h"

namespace kpolicy::model {
namespace {

PositionParity ComparePosition(int64_t position, int32_t token, std::span<const double> reference,
                               std::span<const double> candidate) {
  PositionParity p;
  p.position = position;
  p.token = token;
  double dot = 0, reference_norm = 0, candidate_norm = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    if (!std::isfinite(candidate[i])) {
      ++p.non_finite;
      continue;
    }
    dot += reference[i] * candidate[i];
    reference_norm += reference[i] * reference[i];
    candidate_norm += candidate[i] * candidate[i];
    p.max_abs_difference = std::max(p.max_abs_difference, std::abs(candidate[i] - reference[i]));
  }
  p.cosine = p.non_finite > 0 ? std::numeric_limits<double>::quiet_NaN()
                              : dot / std::sqrt(reference_norm * candidate_norm);
  p.reference_argmax = Argmax(reference);
  // Argmax skips NaN (every comparison with it is false) but would take
  // +inf; either way the position counts as non-finite above.
  p.candidate_argmax = Argmax(candidate);
  p.argmax_agrees = p.reference_argmax == p.candidate_argmax;
  p.reference_margin = reference[size_t(p.reference_argmax)] - reference[size_t(p.candidate_argmax)];
  return p;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Expected<std::vector<std::vector<double>>> TimedPass(const ModelConfig& config, const ModelWeights& weights,
                                                     std::span<const int32_t> tokens, MatVec& matvec,
                                                     int64_t batch, const char* which, double* seconds) {
  Decoder decoder(config, weights, matvec);
  const auto start = std::chrono::steady_clock::now();
  Expected<std::vector<std::vector<double>>> logits = TeacherForced(decoder, tokens, batch);
  *seconds = SecondsSince(start);
  if (!logits.ok()) {
    Error error = std::move(logits).error();
    error.message = std::string("the ") + which + " pass: " + error.message;
    return Fail(std::move(error));
  }
  return logits;
}

}  // namespace

Expected<ModelParity> CompareLogits(std::span<const int32_t> tokens,
                                    const std::vector<std::vector<double>>& reference,
                                    const std::vector<std::vector<double>>& candidate) {
  if (reference.size() != tokens.size() || candidate.size() != tokens.size()) {
    return Fail(ErrorCode::kInvalidArgument,
                "parity of " + std::to_string(tokens.size()) + " positions given " +
                    std::to_string(reference.size()) + " reference and " + std::to_string(candidate.size()) +
                    " candidate logit rows");
  }
  ModelParity parity;
  parity.min_cosine = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (reference[i].size() != candidate[i].size() || reference[i].empty()) {
      return Fail(ErrorCode::kInvalidArgument, "position " + std::to_string(i) + ": " +
                                                   std::to_string(reference[i].size()) + " reference and " +
                                                   std::to_string(candidate[i].size()) + " candidate logits");
    }
    const PositionParity p = ComparePosition(int64_t(i), tokens[i], reference[i], candidate[i]);
    // NaN < x is false: the first NaN is taken explicitly and then kept.
    if (std::isnan(p.cosine) ? !std::isnan(parity.min_cosine) : p.cosine < parity.min_cosine) {
      parity.min_cosine = p.cosine;
      parity.min_cosine_position = p.position;
    }
    parity.argmax_agreement += p.argmax_agrees ? 1 : 0;
    if (!p.argmax_agrees && parity.first_divergence < 0) parity.first_divergence = p.position;
    parity.non_finite_logits += p.non_finite;
    parity.positions.push_back(p);
  }
  if (tokens.empty()) parity.min_cosine = std::numeric_limits<double>::quiet_NaN();
  return parity;
}

Expected<std::vector<int32_t>> ReferenceSequence(const ModelConfig& config, const ModelWeights& weights,
                                                 MatVec& reference, std::span<const int32_t> prompt,
                                                 int64_t positions) {
  if (prompt.empty() || static_cast<int64_t>(prompt.size()) > positions) {
    return Fail(ErrorCode::kInvalidArgument, "a parity sequence of " + std::to_string(positions) +
                                                 " positions needs a prompt of 1 to that many tokens, not " +
                                                 std::to_string(prompt.size()));
  }
  Decoder decoder(config, weights, reference);
  Expected<std::vector<int32_t>> generated =
      GreedyDecode(decoder, prompt, positions - static_cast<int64_t>(prompt.size()));
  if (!generated.ok()) return Fail(std::move(generated).error());
  std::vector<int32_t> sequence(prompt.begin(), prompt.end());
  sequence.insert(sequence.end(), generated->begin(), generated->end());
  return sequence;
}

Expected<ModelParity> MeasureModelParity(const ModelConfig& config, const ModelWeights& weights,
                                         std::span<const int32_t> tokens, MatVec& reference, MatVec& candidate,
                                         int64_t batch) {
  if (tokens.empty()) return Fail(ErrorCode::kInvalidArgument, "model parity needs at least one token");
  double reference_seconds = 0, candidate_seconds = 0;
  auto expected = TimedPass(config, weights, tokens, reference, batch, "reference", &reference_seconds);
  if (!expected.ok()) return Fail(std::move(expected).error());
  auto got = TimedPass(config, weights, tokens, candidate, batch, "candidate", &candidate_seconds);
  if (!got.ok()) return Fail(std::move(got).error());
  Expected<ModelParity> parity = CompareLogits(tokens, *expected, *got);
  if (parity.ok()) {
    parity->reference_seconds = reference_seconds;
    parity->candidate_seconds = candidate_seconds;
  }
  return parity;
}

void WriteJson(const ModelParity& parity, JsonWriter& json, bool with_positions) {
  json.BeginObject();
  json.Key("positions").Int(parity.size());
  json.Key("min_cosine").Double(parity.min_cosine);
  json.Key("min_cosine_position").Int(parity.min_cosine_position);
  json.Key("argmax_agreement").Int(parity.argmax_agreement);
  json.Key("first_divergence");
  if (parity.first_divergence < 0) {
    json.Null();
  } else {
    json.Int(parity.first_divergence);
  }
  json.Key("non_finite_logits").Int(parity.non_finite_logits);
  json.Key("reference_seconds").Double(parity.reference_seconds);
  json.Key("candidate_seconds").Double(parity.candidate_seconds);
  if (with_positions) {
    json.Key("per_position").BeginArray();
    for (const PositionParity& p : parity.positions) {
      json.BeginObject();
      json.Key("position").Int(p.position);
      json.Key("token").Int(p.token);
      json.Key("cosine").Double(p.cosine);
      json.Key("reference_argmax").Int(p.reference_argmax);
      json.Key("candidate_argmax").Int(p.candidate_argmax);
      json.Key("argmax_agrees").Bool(p.argmax_agrees);
      json.Key("reference_margin").Double(p.reference_margin);
      json.Key("max_abs_difference").Double(p.max_abs_difference);
      json.Key("non_finite").Int(p.non_finite);
      json.EndObject();
    }
    json.EndArray();
  }
  json.EndObject();
}

std::string FormatSummary(const ModelParity& parity) {
  char line[256];
  const std::string divergence =
      parity.first_divergence < 0 ? std::string("none") : "at " + std::to_string(parity.first_divergence);
  std::snprintf(line, sizeof line, "min cosine %.6f at %lld, argmax %lld/%lld, first divergence %s, non-finite %lld",
                parity.min_cosine, static_cast<long long>(parity.min_cosine_position),
                static_cast<long long>(parity.argmax_agreement), static_cast<long long>(parity.size()),
                divergence.c_str(), static_cast<long long>(parity.non_finite_logits));
  return line;
}

std::string FormatTable(const ModelParity& parity) {
  std::string out = "position   token    cosine  ref argmax  cand argmax  agree  ref margin  max |diff|\n";
  char line[160];
  for (const PositionParity& p : parity.positions) {
    std::snprintf(line, sizeof line, "%8lld  %6d  %.6f  %10d  %11d  %5s  %10.4f  %10.3e%s\n",
                  static_cast<long long>(p.position), p.token, p.cosine, p.reference_argmax, p.candidate_argmax,
                  p.argmax_agrees ? "yes" : "NO", p.reference_margin, p.max_abs_difference,
                  p.non_finite > 0 ? ("  non-finite " + std::to_string(p.non_finite)).c_str() : "");
    out += line;
  }
  return out + FormatSummary(parity) + "\n";
}

}  // namespace kpolicy::model
