// Tiny synthetic llama / gemma3 GGUF models for the model library's unit
// tests: random F32 weights (kept by the test for its own computations),
// written with GgufWriter to a temporary file. Test-only; header-only.
#ifndef KPOLICY_TESTS_MODEL_SYNTHETIC_MODEL_H_
#define KPOLICY_TESTS_MODEL_SYNTHETIC_MODEL_H_

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::model::synthetic {

using kernels::GgmlType;
using kernels::GgufValue;

template <typename E>
std::string Why(const E& result) {
  return result.ok() ? std::string() : result.error().ToString();
}

// Shape of a synthetic model; small enough that the plain recomputation
// below (O(T^2) full forwards) runs in milliseconds.
struct Shape {
  std::string arch = "llama";
  int64_t n_layer = 2, n_embd = 64, n_ff = 96, n_head = 4, n_head_kv = 2, head_dim = 16, n_vocab = 50;
  int64_t sliding_window = 0;  // gemma3 only
  bool tied = true;
};

// The model's values, kept by the test for its own computation.
struct Synthetic {
  Shape shape;
  std::map<std::string, std::vector<float>> tensors;  // row-major {rows, cols}
  std::map<std::string, std::vector<uint64_t>> dims;
  // Tensors written in a block format instead of F32 (StoreAs).
  std::map<std::string, kernels::WeightMatrix> stored;

  const std::vector<float>& t(const std::string& name) const { return tensors.at(name); }
};

inline void AddRandom(Synthetic& s, std::mt19937_64& rng, const std::string& name, int64_t rows, int64_t cols,
                      double scale, double offset = 0) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (float& x : v) x = static_cast<float>(offset + scale * normal(rng));
  s.tensors[name] = v;
  s.dims[name] = rows == 1 ? std::vector<uint64_t>{uint64_t(cols)} : std::vector<uint64_t>{uint64_t(cols), uint64_t(rows)};
}

inline Synthetic MakeModel(const Shape& shape, uint64_t seed) {
  Synthetic s;
  s.shape = shape;
  std::mt19937_64 rng(seed);
  const bool gemma = shape.arch == "gemma3";
  const double in_scale = 1.0 / std::sqrt(double(shape.n_embd));
  AddRandom(s, rng, "token_embd.weight", shape.n_vocab, shape.n_embd, gemma ? in_scale : 1.0);
  for (int64_t l = 0; l < shape.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    AddRandom(s, rng, p + "attn_norm.weight", 1, shape.n_embd, 0.1, 1.0);
    AddRandom(s, rng, p + "attn_q.weight", shape.n_head * shape.head_dim, shape.n_embd, in_scale);
    AddRandom(s, rng, p + "attn_k.weight", shape.n_head_kv * shape.head_dim, shape.n_embd, in_scale);
    AddRandom(s, rng, p + "attn_v.weight", shape.n_head_kv * shape.head_dim, shape.n_embd, in_scale);
    AddRandom(s, rng, p + "attn_output.weight", shape.n_embd, shape.n_head * shape.head_dim,
              1.0 / std::sqrt(double(shape.n_head * shape.head_dim)));
    AddRandom(s, rng, p + "ffn_norm.weight", 1, shape.n_embd, 0.1, 1.0);
    AddRandom(s, rng, p + "ffn_gate.weight", shape.n_ff, shape.n_embd, in_scale);
    AddRandom(s, rng, p + "ffn_up.weight", shape.n_ff, shape.n_embd, in_scale);
    AddRandom(s, rng, p + "ffn_down.weight", shape.n_embd, shape.n_ff, 1.0 / std::sqrt(double(shape.n_ff)));
    if (gemma) {
      AddRandom(s, rng, p + "attn_q_norm.weight", 1, shape.head_dim, 0.1, 1.0);
      AddRandom(s, rng, p + "attn_k_norm.weight", 1, shape.head_dim, 0.1, 1.0);
      AddRandom(s, rng, p + "post_attention_norm.weight", 1, shape.n_embd, 0.1, 1.0);
      AddRandom(s, rng, p + "post_ffw_norm.weight", 1, shape.n_embd, 0.1, 1.0);
    }
  }
  AddRandom(s, rng, "output_norm.weight", 1, shape.n_embd, 0.1, 1.0);
  if (!shape.tied) AddRandom(s, rng, "output.weight", shape.n_vocab, shape.n_embd, in_scale);
  return s;
}

constexpr double kLlamaRopeBase = 5000.0;
constexpr double kGemmaRopeBase = 1e6;
constexpr double kEps = 1e-5;

inline kernels::GgufWriter Writer(const Synthetic& s) {
  const Shape& sh = s.shape;
  kernels::GgufWriter w;
  const std::string a = sh.arch;
  w.AddMetadata("general.architecture", GgufValue::String(a));
  w.AddMetadata(a + ".block_count", GgufValue::U32(uint32_t(sh.n_layer)));
  w.AddMetadata(a + ".embedding_length", GgufValue::U32(uint32_t(sh.n_embd)));
  w.AddMetadata(a + ".feed_forward_length", GgufValue::U32(uint32_t(sh.n_ff)));
  w.AddMetadata(a + ".attention.head_count", GgufValue::U32(uint32_t(sh.n_head)));
  w.AddMetadata(a + ".attention.head_count_kv", GgufValue::U32(uint32_t(sh.n_head_kv)));
  w.AddMetadata(a + ".attention.layer_norm_rms_epsilon", GgufValue::F32(float(kEps)));
  w.AddMetadata(a + ".context_length", GgufValue::U32(256));
  if (a == "gemma3") {
    w.AddMetadata(a + ".attention.key_length", GgufValue::U32(uint32_t(sh.head_dim)));
    w.AddMetadata(a + ".attention.value_length", GgufValue::U32(uint32_t(sh.head_dim)));
    w.AddMetadata(a + ".rope.freq_base", GgufValue::F32(float(kGemmaRopeBase)));
    w.AddMetadata(a + ".attention.sliding_window", GgufValue::U32(uint32_t(sh.sliding_window)));
  } else {
    w.AddMetadata(a + ".rope.freq_base", GgufValue::F32(float(kLlamaRopeBase)));
    w.AddMetadata(a + ".rope.dimension_count", GgufValue::U32(uint32_t(sh.head_dim)));
  }
  for (const auto& [name, values] : s.tensors) {
    if (auto q = s.stored.find(name); q != s.stored.end()) {
      w.AddTensor(name, *kernels::GgmlTypeFor(q->second.format), s.dims.at(name), q->second.bytes);
      continue;
    }
    std::vector<uint8_t> bytes(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    w.AddTensor(name, GgmlType::kF32, s.dims.at(name), std::move(bytes));
  }
  return w;
}

// Writes matrix `name` in `format` (Q4_K, Q6_K: its cols a multiple of 256)
// and keeps, as the test's values, what the file's blocks decode to.
inline void StoreAs(Synthetic& s, const std::string& name, kernels::WeightFormat format) {
  const std::vector<uint64_t>& d = s.dims.at(name);
  kernels::WeightMatrix m = kernels::QuantizeWeights(format, s.tensors.at(name), int64_t(d[1]), int64_t(d[0]));
  s.tensors[name] = kernels::DequantizeAll(m.view());
  s.stored[name] = std::move(m);
}

inline std::string TempPath(const std::string& tag) {
  return (std::filesystem::temp_directory_path() / ("kpolicy_model_" + tag + "_" + std::to_string(getpid()) + ".gguf")).string();
}

inline std::string WriteModel(const Synthetic& s, const std::string& tag) {
  const std::string path = TempPath(tag);
  auto written = Writer(s).WriteFile(path);
  BOOST_REQUIRE_MESSAGE(written.ok(), Why(written));
  return path;
}

}  // namespace kpolicy::model::synthetic

#endif  // KPOLICY_TESTS_MODEL_SYNTHETIC_MODEL_H_
