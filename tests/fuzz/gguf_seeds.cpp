// Writes the GGUF fuzzer's seed corpus into the folder named: small files
// that reach every consumer fuzz_gguf.cpp drives (the reader, weight
// matrices of each format the kernels read, a llama and a gemma3 model
// config with the tensors the decoder loads, a BPE and an SPM tokenizer),
// built with GgufWriter as the model tests build theirs. Small on purpose
// (under 16 KB each): libFuzzer mutates small inputs quickly.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "kpolicy/kernels/gguf.h"
#include "kpolicy/kernels/weights.h"

namespace {

namespace kn = kpolicy::kernels;
using kn::GgmlType;
using kn::GgufValue;
using kn::GgufValueType;

std::vector<uint8_t> F32Bytes(size_t count, float scale) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = scale * static_cast<float>((i * 7919) % 17) / 17.0f - scale / 2;
  std::vector<uint8_t> bytes(count * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

void AddMatrix(kn::GgufWriter& w, const std::string& name, uint64_t rows, uint64_t cols) {
  w.AddTensor(name, GgmlType::kF32, rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, rows},
              F32Bytes(rows * cols, 0.5f));
}

// A decoder of `arch` (llama or gemma3) with one layer, width 16.
void AddModel(kn::GgufWriter& w, const std::string& arch, uint64_t vocab) {
  const uint64_t embd = 16, ff = 24, heads = 2, kv = 1, head_dim = 8;
  w.AddMetadata("general.architecture", GgufValue::String(arch));
  w.AddMetadata("general.name", GgufValue::String("fuzz seed"));
  w.AddMetadata("general.file_type", GgufValue::U32(0));
  w.AddMetadata(arch + ".block_count", GgufValue::U32(1));
  w.AddMetadata(arch + ".embedding_length", GgufValue::U32(embd));
  w.AddMetadata(arch + ".feed_forward_length", GgufValue::U32(ff));
  w.AddMetadata(arch + ".attention.head_count", GgufValue::U32(heads));
  w.AddMetadata(arch + ".attention.head_count_kv", GgufValue::U32(kv));
  w.AddMetadata(arch + ".attention.layer_norm_rms_epsilon", GgufValue::F32(1e-5f));
  w.AddMetadata(arch + ".context_length", GgufValue::U32(64));
  w.AddMetadata(arch + ".rope.freq_base", GgufValue::F32(10000.0f));
  if (arch == "gemma3") {
    w.AddMetadata(arch + ".attention.key_length", GgufValue::U32(head_dim));
    w.AddMetadata(arch + ".attention.value_length", GgufValue::U32(head_dim));
    w.AddMetadata(arch + ".attention.sliding_window", GgufValue::U32(4));
  } else {
    w.AddMetadata(arch + ".rope.dimension_count", GgufValue::U32(head_dim));
  }
  AddMatrix(w, "token_embd.weight", vocab, embd);
  AddMatrix(w, "output_norm.weight", 1, embd);
  const std::string p = "blk.0.";
  AddMatrix(w, p + "attn_norm.weight", 1, embd);
  AddMatrix(w, p + "attn_q.weight", heads * head_dim, embd);
  AddMatrix(w, p + "attn_k.weight", kv * head_dim, embd);
  AddMatrix(w, p + "attn_v.weight", kv * head_dim, embd);
  AddMatrix(w, p + "attn_output.weight", embd, heads * head_dim);
  AddMatrix(w, p + "ffn_norm.weight", 1, embd);
  AddMatrix(w, p + "ffn_gate.weight", ff, embd);
  AddMatrix(w, p + "ffn_up.weight", ff, embd);
  AddMatrix(w, p + "ffn_down.weight", embd, ff);
  if (arch == "gemma3") {
    AddMatrix(w, p + "attn_q_norm.weight", 1, head_dim);
    AddMatrix(w, p + "attn_k_norm.weight", 1, head_dim);
    AddMatrix(w, p + "post_attention_norm.weight", 1, embd);
    AddMatrix(w, p + "post_ffw_norm.weight", 1, embd);
  }
}

GgufValue Strings(const std::vector<std::string>& items) {
  std::vector<GgufValue> values;
  for (const std::string& s : items) values.push_back(GgufValue::String(s));
  return GgufValue::MakeArray(GgufValueType::kString, std::move(values));
}

GgufValue Numbers(size_t count, bool as_float) {
  std::vector<GgufValue> values;
  for (size_t i = 0; i < count; ++i) {
    values.push_back(as_float ? GgufValue::F32(-static_cast<float>(i)) : GgufValue::I32(i < 3 ? 3 : 1));
  }
  return GgufValue::MakeArray(as_float ? GgufValueType::kFloat32 : GgufValueType::kInt32, std::move(values));
}

// Byte-level BPE ("gpt2"): three specials, a few byte pieces and merges.
void AddBpeTokenizer(kn::GgufWriter& w) {
  const std::vector<std::string> tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "h", "e", "l", "o",
                                           "\xc4\xa0", "w", "r", "d", "1", "2", "he", "ll", "hell", "hello"};
  w.AddMetadata("tokenizer.ggml.model", GgufValue::String("gpt2"));
  w.AddMetadata("tokenizer.ggml.pre", GgufValue::String("smollm"));
  w.AddMetadata("tokenizer.ggml.tokens", Strings(tokens));
  w.AddMetadata("tokenizer.ggml.token_type", Numbers(tokens.size(), false));
  w.AddMetadata("tokenizer.ggml.merges", Strings({"h e", "l l", "he ll", "hell o"}));
  w.AddMetadata("tokenizer.ggml.bos_token_id", GgufValue::U32(1));
  w.AddMetadata("tokenizer.ggml.eos_token_id", GgufValue::U32(2));
}

// SentencePiece ("llama"): unknown, bos, eos, byte pieces and scored words.
void AddSpmTokenizer(kn::GgufWriter& w) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<0x41>", "<0xC3>", "\xe2\x96\x81", "\xe2\x96\x81H",
                                     "ello", "\xe2\x96\x81world", "!"};
  w.AddMetadata("tokenizer.ggml.model", GgufValue::String("llama"));
  w.AddMetadata("tokenizer.ggml.tokens", Strings(tokens));
  w.AddMetadata("tokenizer.ggml.scores", Numbers(tokens.size(), true));
  w.AddMetadata("tokenizer.ggml.token_type", Numbers(tokens.size(), false));
  w.AddMetadata("tokenizer.ggml.bos_token_id", GgufValue::U32(1));
  w.AddMetadata("tokenizer.ggml.eos_token_id", GgufValue::U32(2));
  w.AddMetadata("tokenizer.ggml.unknown_token_id", GgufValue::U32(0));
  w.AddMetadata("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
}

// One 2 x 256 matrix in each format the kernels read, and every metadata
// value type, nested arrays included.
void AddFormatsAndValues(kn::GgufWriter& w) {
  std::vector<float> values(2 * 256);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 13) - 6.0f;
  for (auto format : {kn::WeightFormat::kF32, kn::WeightFormat::kF16, kn::WeightFormat::kQ4K, kn::WeightFormat::kQ6K}) {
    w.AddWeights(std::string("w.") + std::string(kn::WeightFormatName(format)), kn::QuantizeWeights(format, values, 2, 256));
  }
  w.AddMetadata("u8", GgufValue::Uint(GgufValueType::kUint8, 200));
  w.AddMetadata("i8", GgufValue::Int(GgufValueType::kInt8, -100));
  w.AddMetadata("u16", GgufValue::Uint(GgufValueType::kUint16, 60000));
  w.AddMetadata("i16", GgufValue::Int(GgufValueType::kInt16, -30000));
  w.AddMetadata("u64", GgufValue::U64(1ull << 40));
  w.AddMetadata("i64", GgufValue::Int(GgufValueType::kInt64, -(1ll << 40)));
  w.AddMetadata("f64", GgufValue::Float(GgufValueType::kFloat64, 0.125));
  w.AddMetadata("flag", GgufValue::Bool(true));
  w.AddMetadata("nested", GgufValue::MakeArray(GgufValueType::kArray, {Strings({"a", "b"}), Numbers(2, true)}));
  w.SetAlignment(64);
}

bool Write(const std::filesystem::path& folder, const std::string& name, const kn::GgufWriter& w) {
  auto written = w.WriteFile((folder / name).string());
  if (!written.ok()) std::fprintf(stderr, "%s: %s\n", name.c_str(), written.error().ToString().c_str());
  return written.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
    return 2;
  }
  const std::filesystem::path folder(argv[1]);
  std::filesystem::create_directories(folder);
  kn::GgufWriter llama, gemma, formats, bpe, spm_v2(2);
  AddModel(llama, "llama", 17);
  AddBpeTokenizer(llama);
  AddModel(gemma, "gemma3", 10);
  AddSpmTokenizer(gemma);
  AddFormatsAndValues(formats);
  AddBpeTokenizer(bpe);
  AddSpmTokenizer(spm_v2);
  const bool ok = Write(folder, "llama-bpe.gguf", llama) && Write(folder, "gemma3-spm.gguf", gemma) &&
                  Write(folder, "formats.gguf", formats) && Write(folder, "bpe-only.gguf", bpe) &&
                  Write(folder, "spm-v2.gguf", spm_v2);
  return ok ? 0 : 1;
}
