// The decoder on tiny synthetic GGUF models (F32 weights, written with
// GgufWriter): each block against a plain second computation here (RMSNorm,
// RoPE as complex rotations, attention without a cache over the whole
// prefix, GQA head mapping, sliding-window masks), the cached, batched and
// rewound runs against each other, and bad files against clear errors.
#define BOOST_TEST_MODULE model_decoder
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <complex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/model/decoder.h"
#include "kpolicy/model/ops.h"
#include "synthetic_model.h"

using namespace kpolicy;
using namespace kpolicy::model;
using kernels::GgmlType;
using kernels::GgufValue;
using namespace kpolicy::model::synthetic;

namespace {

// ---- The plain second computation --------------------------------------

using Vec = std::vector<double>;

Vec MatMul(const std::vector<float>& w, int64_t rows, int64_t cols, const Vec& x) {
  Vec y(size_t(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[size_t(r)] += double(w[size_t(r * cols + c)]) * x[size_t(c)];
  return y;
}

Vec Norm(const Vec& x, const std::vector<float>& w) {
  double ms = 0;
  for (double v : x) ms += v * v / double(x.size());
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + kEps) * double(w[i]);
  return y;
}

// RoPE as complex multiplication: pair i (adjacent or split by half) is
// the complex number z_i, rotated to z_i * e^{i pos base^(-2i/d)}.
void Rotate(double* head, int64_t d, double pos, double base, bool adjacent) {
  for (int64_t i = 0; i < d / 2; ++i) {
    double& re = adjacent ? head[2 * i] : head[i];
    double& im = adjacent ? head[2 * i + 1] : head[i + d / 2];
    std::complex<double> z(re, im);
    z *= std::polar(1.0, pos / std::pow(base, 2.0 * double(i) / double(d)));
    re = z.real();
    im = z.imag();
  }
}

// Logits at the last position of `tokens`, computed from scratch: every
// layer over the whole prefix, with an explicit causal (and window) mask.
Vec PlainForward(const Synthetic& s, const std::vector<int32_t>& tokens) {
  const Shape& sh = s.shape;
  const bool gemma = sh.arch == "gemma3";
  const int64_t T = int64_t(tokens.size()), d = sh.n_embd, hd = sh.head_dim;
  std::vector<Vec> x(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const auto& e = s.t("token_embd.weight");
    x[size_t(t)].assign(e.begin() + tokens[size_t(t)] * d, e.begin() + (tokens[size_t(t)] + 1) * d);
    if (gemma) for (double& v : x[size_t(t)]) v *= std::sqrt(double(d));
  }
  for (int64_t l = 0; l < sh.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const bool sliding = gemma && sh.sliding_window > 0 && l % 6 != 5;
    const double base = gemma ? (sliding ? 10000.0 : kGemmaRopeBase) : kLlamaRopeBase;
    std::vector<Vec> q(static_cast<size_t>(T)), k(static_cast<size_t>(T)), v(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      Vec h = Norm(x[size_t(t)], s.t(p + "attn_norm.weight"));
      q[size_t(t)] = MatMul(s.t(p + "attn_q.weight"), sh.n_head * hd, d, h);
      k[size_t(t)] = MatMul(s.t(p + "attn_k.weight"), sh.n_head_kv * hd, d, h);
      v[size_t(t)] = MatMul(s.t(p + "attn_v.weight"), sh.n_head_kv * hd, d, h);
      // Gemma: RMSNorm each head; both: rotate each head by position t.
      auto norm_and_rotate = [&](Vec& heads, int64_t n_heads, const std::string& norm) {
        for (int64_t head = 0; head < n_heads; ++head) {
          if (gemma) {
            Vec part(heads.begin() + head * hd, heads.begin() + (head + 1) * hd);
            part = Norm(part, s.t(p + norm));
            std::copy(part.begin(), part.end(), heads.begin() + head * hd);
          }
          Rotate(heads.data() + head * hd, hd, double(t), base, !gemma);
        }
      };
      norm_and_rotate(q[size_t(t)], sh.n_head, "attn_q_norm.weight");
      norm_and_rotate(k[size_t(t)], sh.n_head_kv, "attn_k_norm.weight");
    }
    for (int64_t t = 0; t < T; ++t) {
      Vec attn(size_t(sh.n_head * hd), 0.0);
      for (int64_t head = 0; head < sh.n_head; ++head) {
        const int64_t kvh = head * sh.n_head_kv / sh.n_head;  // GQA: consecutive query heads share
        Vec score(size_t(T), -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
          const bool visible = j <= t && (!sliding || t - j < sh.sliding_window);
          if (!visible) continue;
          double dot = 0;
          for (int64_t c = 0; c < hd; ++c) dot += q[size_t(t)][size_t(head * hd + c)] * k[size_t(j)][size_t(kvh * hd + c)];
          score[size_t(j)] = dot / std::sqrt(double(hd));
          mx = std::max(mx, score[size_t(j)]);
        }
        double z = 0;
        for (double& sc : score) z += (sc = std::exp(sc - mx));
        for (int64_t j = 0; j < T; ++j)
          for (int64_t c = 0; c < hd; ++c)
            attn[size_t(head * hd + c)] += score[size_t(j)] / z * v[size_t(j)][size_t(kvh * hd + c)];
      }
      Vec o = MatMul(s.t(p + "attn_output.weight"), d, sh.n_head * hd, attn);
      if (gemma) o = Norm(o, s.t(p + "post_attention_norm.weight"));
      for (int64_t i = 0; i < d; ++i) x[size_t(t)][size_t(i)] += o[size_t(i)];
    }
    for (int64_t t = 0; t < T; ++t) {
      Vec h = Norm(x[size_t(t)], s.t(p + "ffn_norm.weight"));
      Vec g = MatMul(s.t(p + "ffn_gate.weight"), sh.n_ff, d, h);
      Vec u = MatMul(s.t(p + "ffn_up.weight"), sh.n_ff, d, h);
      for (size_t i = 0; i < g.size(); ++i) {
        const double a = gemma ? 0.5 * g[i] * (1 + std::tanh(std::sqrt(2 / M_PI) * (g[i] + 0.044715 * std::pow(g[i], 3))))
                               : g[i] / (1 + std::exp(-g[i]));
        g[i] = a * u[i];
      }
      Vec f = MatMul(s.t(p + "ffn_down.weight"), d, sh.n_ff, g);
      if (gemma) f = Norm(f, s.t(p + "post_ffw_norm.weight"));
      for (int64_t i = 0; i < d; ++i) x[size_t(t)][size_t(i)] += f[size_t(i)];
    }
  }
  Vec h = Norm(x.back(), s.t("output_norm.weight"));
  return MatMul(s.t(sh.tied ? "token_embd.weight" : "output.weight"), sh.n_vocab, d, h);
}

// Both computations are fp64 over the same float weights and differ only
// in summation order and in sin/cos vs polar: each logit's difference is a
// few ulps per operation times O(d * layers) chained operations, about
// 1e-13 relative here. 1e-9 leaves four orders of margin and is still
// seven orders below what a wrong mask, pairing or head mapping gives
// (logit changes of order 1e-2 and more in these models).
constexpr double kAgreement = 1e-9;

void CheckClose(const Vec& got, const Vec& want, const std::string& what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  double scale = 0, worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    worst = std::max(worst, std::abs(got[i] - want[i]));
  }
  BOOST_TEST_INFO(what << ": max |diff| " << worst << " over max |logit| " << scale);
  BOOST_TEST(worst <= kAgreement * std::max(1.0, scale));
}

struct Loaded {
  Model model;
  ReferenceMatVec matvec;
};

Loaded Load(const Synthetic& s, const std::string& tag, int threads = 2) {
  const std::string path = WriteModel(s, tag);
  Expected<Model> model = LoadModel(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE_MESSAGE(model.ok(), Why(model));
  Expected<ReferenceMatVec> matvec = ReferenceMatVec::Create(model->weights, threads);
  BOOST_REQUIRE_MESSAGE(matvec.ok(), Why(matvec));
  return {std::move(*model), std::move(*matvec)};
}

std::vector<int32_t> Tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int32_t& v : t) v = int32_t(rng() % uint64_t(vocab));
  return t;
}

// Runs `tokens` one Forward at a time and checks every position's logits
// against the plain computation over the prefix.
void CheckAgainstPlain(const Synthetic& s, const std::string& tag) {
  Loaded m = Load(s, tag);
  Decoder decoder(m.model.config, m.model.weights, m.matvec);
  const std::vector<int32_t> tokens = Tokens(9, s.shape.n_vocab, 7);
  for (size_t t = 0; t < tokens.size(); ++t) {
    Expected<Vec> logits = decoder.Forward(tokens[t], int64_t(t));
    BOOST_REQUIRE_MESSAGE(logits.ok(), Why(logits));
    CheckClose(*logits, PlainForward(s, std::vector<int32_t>(tokens.begin(), tokens.begin() + long(t) + 1)),
               tag + " position " + std::to_string(t));
  }
}

}  // namespace

// ---- Ops -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rms_norm_gives_unit_rms_times_the_weight) {
  std::vector<double> x{3, -1, 2, 0.5}, ones(4, 1.0), w{2, 1, 0.5, 4};
  std::vector<double> y = x;
  RmsNorm(y, ones, 0.0);
  double ms = 0;
  for (double v : y) ms += v * v / 4;
  BOOST_TEST(ms == 1.0, boost::test_tools::tolerance(1e-14));
  std::vector<double> z = x;
  RmsNorm(z, w, 0.0);
  for (size_t i = 0; i < 4; ++i) BOOST_TEST(z[i] == y[i] * w[i], boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(rope_pairs_as_each_style_says_and_depends_on_relative_position) {
  const RopeParams adjacent{8, 100.0, RopeStyle::kAdjacentPairs, {}};
  const RopeParams split{8, 100.0, RopeStyle::kHalfSplit, {}};
  std::vector<double> a{1, 0, 0, 0, 0, 0, 0, 0, 9, 9};  // two unrotated dims at the end
  ApplyRope(a, 1.0, adjacent);
  // Pair 0 has theta = position: (1, 0) -> (cos 1, sin 1) in dims 0 and 1.
  BOOST_TEST(a[0] == std::cos(1.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(a[1] == std::sin(1.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(a[4] == 0.0);
  BOOST_TEST(a[8] == 9.0);
  std::vector<double> b{1, 0, 0, 0, 0, 0, 0, 0};
  ApplyRope(b, 1.0, split);
  BOOST_TEST(b[0] == std::cos(1.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(b[4] == std::sin(1.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(b[1] == 0.0);
  // q(m) . k(n) depends on m - n only.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::vector<double> q(8), k(8);
  for (double& v : q) v = normal(rng);
  for (double& v : k) v = normal(rng);
  auto dot_at = [&](double m, double n, const RopeParams& p) {
    std::vector<double> qm = q, kn = k;
    ApplyRope(qm, m, p);
    ApplyRope(kn, n, p);
    double s = 0;
    for (size_t i = 0; i < 8; ++i) s += qm[i] * kn[i];
    return s;
  };
  for (const RopeParams* p : {&adjacent, &split}) {
    BOOST_TEST(dot_at(7, 3, *p) == dot_at(104, 100, *p), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(std::abs(dot_at(7, 3, *p) - dot_at(7, 5, *p)) > 1e-3);
  }
}

BOOST_AUTO_TEST_CASE(attention_of_one_key_returns_its_value) {
  std::vector<double> q{1, 2}, keys{0.3, -0.1, 5, 5}, values{4, -2, 100, 100}, out(2);
  AttendHead(q, keys.data(), 2, values.data(), 2, 0, 0, 0.5, out);
  BOOST_TEST(out[0] == 4.0);
  BOOST_TEST(out[1] == -2.0);
}

// ---- Whole models against the plain computation ---------------------------

BOOST_AUTO_TEST_CASE(llama_matches_plain_forward_at_every_position) {
  Shape shape;  // GQA 4:2, tied output
  CheckAgainstPlain(MakeModel(shape, 11), "llama");
}

BOOST_AUTO_TEST_CASE(llama_with_own_output_and_plain_multihead_matches) {
  Shape shape;
  shape.n_head_kv = 4;
  shape.tied = false;
  CheckAgainstPlain(MakeModel(shape, 12), "llama_mha");
}

BOOST_AUTO_TEST_CASE(gemma3_with_sliding_and_global_layers_matches_plain_forward) {
  Shape shape;
  shape.arch = "gemma3";
  shape.n_layer = 7;  // layers 0-4 and 6 sliding, layer 5 global
  shape.n_head_kv = 1;
  shape.head_dim = 32;  // key_length 32 != n_embd / n_head = 16
  shape.sliding_window = 3;
  CheckAgainstPlain(MakeModel(shape, 13), "gemma3");
}

BOOST_AUTO_TEST_CASE(gemma3_config_marks_every_sixth_layer_global) {
  Shape shape;
  shape.arch = "gemma3";
  shape.n_layer = 12;
  shape.sliding_window = 4;
  shape.head_dim = 16;
  Loaded m = Load(MakeModel(shape, 14), "gemma3_cfg");
  const ModelConfig& c = m.model.config;
  for (int64_t l = 0; l < 12; ++l) BOOST_TEST(c.is_sliding(l) == (l != 5 && l != 11));
  BOOST_TEST(c.embedding_scale == 8.0);
  BOOST_TEST(c.attention_scale == 0.25);
  BOOST_TEST(c.n_vocab == 50);
  BOOST_TEST(m.model.weights.output_tied());
}

BOOST_AUTO_TEST_CASE(sliding_window_hides_tokens_outside_it) {
  // One sliding layer, window 2: position 3 sees positions 2 and 3 only,
  // so changing token 0 leaves its logits exactly as they were, while
  // position 1 (which sees token 0) changes.
  Shape shape;
  shape.arch = "gemma3";
  shape.n_layer = 1;
  shape.sliding_window = 2;
  Loaded m = Load(MakeModel(shape, 15), "window");
  Decoder decoder(m.model.config, m.model.weights, m.matvec);
  std::vector<int32_t> a{1, 2, 3, 4}, b{7, 2, 3, 4};
  auto la = decoder.ForwardBatch(a, 0);
  auto lb = decoder.ForwardBatch(b, 0);
  BOOST_REQUIRE(la.ok() && lb.ok());
  BOOST_TEST(((*la)[3] == (*lb)[3]));
  BOOST_TEST(((*la)[1] != (*lb)[1]));
}

// ---- Cache, batch and rewind ------------------------------------------------

BOOST_AUTO_TEST_CASE(cached_steps_batches_and_rewinds_agree_exactly) {
  Shape shape;
  shape.arch = "gemma3";
  shape.n_layer = 6;
  shape.n_head_kv = 2;
  shape.sliding_window = 4;
  Loaded m = Load(MakeModel(shape, 16), "cache");
  const std::vector<int32_t> tokens = Tokens(10, shape.n_vocab, 5);
  Decoder stepwise(m.model.config, m.model.weights, m.matvec);
  std::vector<Vec> steps;
  for (size_t t = 0; t < tokens.size(); ++t) {
    auto l = stepwise.Forward(tokens[t], int64_t(t));
    BOOST_REQUIRE(l.ok());
    steps.push_back(*l);
  }
  BOOST_TEST(stepwise.positions() == 10);
  Decoder batched(m.model.config, m.model.weights, m.matvec);
  auto all = TeacherForced(batched, tokens, 3);  // batches of 3, 3, 3, 1
  BOOST_REQUIRE(all.ok());
  for (size_t t = 0; t < tokens.size(); ++t) BOOST_TEST(((*all)[t] == steps[t]), "position " << t);
  // Rewind to position 4 with another token, then continue with the original.
  auto other = stepwise.Forward((tokens[4] + 1) % int32_t(shape.n_vocab), 4);
  BOOST_REQUIRE(other.ok());
  BOOST_TEST(stepwise.positions() == 5);
  BOOST_TEST((*other != steps[4]));
  auto again = stepwise.Forward(tokens[4], 4);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((*again == steps[4]));
}

BOOST_AUTO_TEST_CASE(reference_is_bit_identical_whatever_the_thread_count) {
  const Synthetic s = MakeModel(Shape{}, 17);
  Loaded one = Load(s, "t1", 1);
  Loaded three = Load(s, "t3", 3);
  Decoder a(one.model.config, one.model.weights, one.matvec);
  Decoder b(three.model.config, three.model.weights, three.matvec);
  const std::vector<int32_t> tokens = Tokens(5, 50, 9);
  auto la = TeacherForced(a, tokens);
  auto lb = TeacherForced(b, tokens);
  BOOST_REQUIRE(la.ok() && lb.ok());
  BOOST_TEST((*la == *lb));
}

BOOST_AUTO_TEST_CASE(greedy_decode_extends_with_argmax_of_each_step) {
  Loaded m = Load(MakeModel(Shape{}, 18), "greedy");
  Decoder decoder(m.model.config, m.model.weights, m.matvec);
  const std::vector<int32_t> prompt{3, 1, 4};
  auto generated = GreedyDecode(decoder, prompt, 4);
  BOOST_REQUIRE(generated.ok());
  BOOST_REQUIRE_EQUAL(generated->size(), 4u);
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), generated->begin(), generated->end());
  Decoder check(m.model.config, m.model.weights, m.matvec);
  auto logits = TeacherForced(check, all);
  BOOST_REQUIRE(logits.ok());
  for (size_t i = 0; i < 4; ++i) BOOST_TEST(Argmax((*logits)[prompt.size() - 1 + i]) == (*generated)[i]);
  auto stopped = GreedyDecode(decoder, prompt, 4, std::vector<int32_t>{(*generated)[0]});
  BOOST_REQUIRE(stopped.ok());
  BOOST_TEST(stopped->size() == 1u);
}

// ---- Errors -------------------------------------------------------------------

namespace {

std::string LoadError(const Synthetic& s, const std::string& tag,
                      const std::function<void(kernels::GgufWriter&)>& edit = {}) {
  kernels::GgufWriter w = Writer(s);
  if (edit) edit(w);
  const std::string path = TempPath(tag);
  BOOST_REQUIRE(w.WriteFile(path).ok());
  Expected<Model> model = LoadModel(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE_MESSAGE(!model.ok(), tag + " loaded although it should not");
  return model.error().ToString();
}

bool Has(const std::string& text, const std::string& part) {
  BOOST_TEST_INFO("error: " << text);
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(unsupported_architecture_is_named) {
  Synthetic s = MakeModel(Shape{}, 19);
  s.shape.arch = "gpt2";
  const std::string error = LoadError(s, "arch");
  BOOST_TEST(Has(error, "unsupported architecture 'gpt2'"));
  BOOST_TEST(Has(error, "kpolicy_model_arch"));  // the file
}

BOOST_AUTO_TEST_CASE(missing_key_and_tensor_and_wrong_shape_are_named) {
  Synthetic s = MakeModel(Shape{}, 20);
  Synthetic no_tensor = s;
  no_tensor.tensors.erase("blk.1.ffn_up.weight");
  BOOST_TEST(Has(LoadError(no_tensor, "no_tensor"), "missing tensor blk.1.ffn_up.weight"));
  Synthetic bad_shape = s;
  bad_shape.dims["blk.0.attn_k.weight"] = {32, 64};  // swapped
  BOOST_TEST(Has(LoadError(bad_shape, "bad_shape"), "tensor blk.0.attn_k.weight has shape {32, 64}"));
  // A GGUF with the layer count as a string.
  kernels::GgufWriter w;
  w.AddMetadata("general.architecture", GgufValue::String("llama"));
  w.AddMetadata("llama.block_count", GgufValue::String("two"));
  const std::string path = TempPath("key");
  BOOST_REQUIRE(w.WriteFile(path).ok());
  Expected<Model> model = LoadModel(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE(!model.ok());
  BOOST_TEST(Has(model.error().ToString(), "metadata key llama.block_count must be an integer"));
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupt_files_give_errors_naming_the_file) {
  Synthetic s = MakeModel(Shape{}, 21);
  auto bytes = Writer(s).Serialize();
  BOOST_REQUIRE(bytes.ok());
  const std::string path = TempPath("truncated");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()), std::streamsize(bytes->size() - 100));
  }
  Expected<Model> truncated = LoadModel(path);
  BOOST_REQUIRE(!truncated.ok());
  BOOST_TEST(Has(truncated.error().ToString(), path));
  {
    std::vector<uint8_t> corrupt = *bytes;
    corrupt[0] = 'X';
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(corrupt.data()), std::streamsize(corrupt.size()));
  }
  Expected<Model> corrupt = LoadModel(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE(!corrupt.ok());
  BOOST_TEST(Has(corrupt.error().ToString(), path));
  Expected<Model> missing = LoadModel(path);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(Has(missing.error().ToString(), path));
}

BOOST_AUTO_TEST_CASE(bad_tokens_and_positions_are_refused) {
  Loaded m = Load(MakeModel(Shape{}, 22), "bad_token");
  Decoder decoder(m.model.config, m.model.weights, m.matvec);
  BOOST_TEST(Has(decoder.Forward(50, 0).error().ToString(), "outside the vocabulary"));
  BOOST_TEST(Has(decoder.Forward(1, 1).error().ToString(), "past the cache"));
  BOOST_TEST(decoder.Forward(1, 0).ok());
}
