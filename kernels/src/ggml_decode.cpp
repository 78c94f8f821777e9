#include "kpolicy/kernels/ggml_decode.h"

#include <cstring>
#include <limits>
#include <string>

#include "kpolicy/kernels/half.h"

namespace kpolicy::kernels {

namespace {

constexpr int kLegacyBlock = 32;  // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0

// ---- One block to floats ---------------------------------------------------
// Each writes the block's weights to out[0 .. block size). The arithmetic is
// ggml's dequantize_row_* (ggml-quants.c): the integer code formed first,
// then one float product with the widened fp16 scale (and one add of the
// offset for the _1 formats), so the floats match llama.cpp's bit for bit
// wherever the compiler does not contract the multiply-add.

void DecodeBlock(const BlockQ4_0& b, float* out) {
  const float d = HalfToFloat(b.d);
  for (int j = 0; j < kLegacyBlock / 2; ++j) {
    out[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
    out[j + kLegacyBlock / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
  }
}

void DecodeBlock(const BlockQ4_1& b, float* out) {
  const float d = HalfToFloat(b.d), m = HalfToFloat(b.m);
  for (int j = 0; j < kLegacyBlock / 2; ++j) {
    out[j] = static_cast<float>(b.qs[j] & 0x0F) * d + m;
    out[j + kLegacyBlock / 2] = static_cast<float>(b.qs[j] >> 4) * d + m;
  }
}

// The 5-bit codes of a Q5_0/Q5_1 block: weight j's fifth bit is bit j of qh.
void FiveBitCodes(const uint8_t (&qh_bytes)[4], const uint8_t (&qs)[16], int* codes) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof qh);
  for (int j = 0; j < kLegacyBlock / 2; ++j) {
    codes[j] = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    codes[j + kLegacyBlock / 2] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
  }
}

void DecodeBlock(const BlockQ5_0& b, float* out) {
  const float d = HalfToFloat(b.d);
  int codes[kLegacyBlock];
  FiveBitCodes(b.qh, b.qs, codes);
  for (int j = 0; j < kLegacyBlock; ++j) out[j] = static_cast<float>(codes[j] - 16) * d;
}

void DecodeBlock(const BlockQ5_1& b, float* out) {
  const float d = HalfToFloat(b.d), m = HalfToFloat(b.m);
  int codes[kLegacyBlock];
  FiveBitCodes(b.qh, b.qs, codes);
  for (int j = 0; j < kLegacyBlock; ++j) out[j] = static_cast<float>(codes[j]) * d + m;
}

void DecodeBlock(const BlockQ8_0& b, float* out) {
  const float d = HalfToFloat(b.d);
  for (int j = 0; j < kLegacyBlock; ++j) out[j] = static_cast<float>(b.qs[j]) * d;
}

void DecodeBlock(const BlockQ5K& b, float* out) {
  const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
  for (int j = 0; j < 8; ++j) {  // 8 sub-blocks of 32
    uint8_t sc, m;
    KQuantScaleMin(b.scales, j, &sc, &m);
    // ggml forms d*sc and dmin*m once per sub-block, as Q4_K does.
    const float scale = d * sc, min = dmin * m;
    const uint8_t* qs = b.qs + 32 * (j / 2);
    for (int l = 0; l < 32; ++l) {
      const int low = (j % 2 == 0) ? (qs[l] & 0x0F) : (qs[l] >> 4);
      const int code = low | (((b.qh[l] >> j) & 1) << 4);
      out[32 * j + l] = scale * static_cast<float>(code) - min;
    }
  }
}

// `count` blocks at src (any alignment: each is copied out, since reading a
// byte buffer through a struct pointer is misaligned and an aliasing
// violation) into out, block_size floats each.
template <typename Block>
void DecodeBlocks(const uint8_t* src, int64_t count, int64_t block_size, float* out) {
  Block block;
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(&block, src + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
    DecodeBlock(block, out + i * block_size);
  }
}

// One row of `cols` elements of `type` (a type CanDecode accepts).
void DecodeRow(GgmlType type, const uint8_t* src, int64_t cols, float* out) {
  // F32, F16, Q4_K and Q6_K are weight formats: read through DequantizeRow,
  // the dequantisers the kernels' references use, so a decoded tensor and a
  // kernel agree on every weight.
  if (const std::optional<WeightFormat> format = WeightFormatFor(type)) {
    const WeightView row{*format, 1, cols,
                         std::span<const uint8_t>(src, static_cast<size_t>(RowBytes(*format, cols)))};
    DequantizeRow(row, 0, std::span<float>(out, static_cast<size_t>(cols)));
    return;
  }
  switch (type) {
    case GgmlType::kBF16:
      // bf16 is the top half of an IEEE float (ggml_bf16_to_fp32 shifts it up).
      for (int64_t i = 0; i < cols; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(out + i, &bits, sizeof bits);
      }
      return;
    case GgmlType::kQ4_0: return DecodeBlocks<BlockQ4_0>(src, cols / kLegacyBlock, kLegacyBlock, out);
    case GgmlType::kQ4_1: return DecodeBlocks<BlockQ4_1>(src, cols / kLegacyBlock, kLegacyBlock, out);
    case GgmlType::kQ5_0: return DecodeBlocks<BlockQ5_0>(src, cols / kLegacyBlock, kLegacyBlock, out);
    case GgmlType::kQ5_1: return DecodeBlocks<BlockQ5_1>(src, cols / kLegacyBlock, kLegacyBlock, out);
    case GgmlType::kQ8_0: return DecodeBlocks<BlockQ8_0>(src, cols / kLegacyBlock, kLegacyBlock, out);
    case GgmlType::kQ5_K: return DecodeBlocks<BlockQ5K>(src, cols / kSuperBlockSize, kSuperBlockSize, out);
    default: return;  // the weight formats above; the rest excluded by CanDecode
  }
}

std::string TypeName(GgmlType type) {
  const std::optional<GgmlTypeTraits> traits = GgmlTypeInfo(static_cast<uint32_t>(type));
  return traits ? std::string(traits->name) : "type " + std::to_string(static_cast<uint32_t>(type));
}

// "tensor 'NAME' (TYPE [d0, d1])", the subject of every decode error.
std::string Describe(const GgufTensorInfo& info) {
  std::string out = "tensor '" + info.name + "' (" + TypeName(info.type) + " [";
  for (size_t i = 0; i < info.dims.size(); ++i) out += (i ? ", " : "") + std::to_string(info.dims[i]);
  return out + "])";
}

// A tensor seen as rows of dims[0] elements, checked against its bytes.
struct RowLayout {
  int64_t cols = 0;
  int64_t rows = 0;
  uint64_t row_bytes = 0;
};

Expected<RowLayout> Layout(const GgufTensor& tensor) {
  const GgufTensorInfo& info = tensor.info;
  if (!CanDecode(info.type)) {
    return Fail(ErrorCode::kUnsupported, Describe(info) + ": " + TypeName(info.type) +
                                             " cannot be decoded (supported: F32, F16, BF16, Q4_0, Q4_1, "
                                             "Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)");
  }
  if (info.dims.empty()) return Fail(ErrorCode::kInvalidInput, Describe(info) + ": has no dimensions");
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t rows = 1;
  for (size_t i = 1; i < info.dims.size(); ++i) {
    if (__builtin_mul_overflow(rows, info.dims[i], &rows) || rows > kMax) {
      return Fail(ErrorCode::kInvalidInput, Describe(info) + ": row count overflows 63 bits");
    }
  }
  if (info.dims[0] > kMax) return Fail(ErrorCode::kInvalidInput, Describe(info) + ": ne0 overflows 63 bits");
  Expected<uint64_t> row_bytes = GgmlTensorBytes(info.type, info.dims[0]);
  if (!row_bytes.ok()) return Fail(ErrorCode::kInvalidInput, Describe(info) + ": " + row_bytes.error().message);
  uint64_t total = 0;
  if (__builtin_mul_overflow(*row_bytes, rows, &total)) {
    return Fail(ErrorCode::kInvalidInput, Describe(info) + ": byte size overflows 64 bits");
  }
  if (tensor.bytes.size() < total) {
    return Fail(ErrorCode::kInvalidInput, Describe(info) + ": " + std::to_string(tensor.bytes.size()) +
                                              " bytes, too short for its shape (" + std::to_string(total) +
                                              " bytes)");
  }
  return RowLayout{static_cast<int64_t>(info.dims[0]), static_cast<int64_t>(rows), *row_bytes};
}

}  // namespace

bool CanDecode(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K: return true;
    default: return false;
  }
}

Expected<uint64_t> GgmlTensorBytes(GgmlType type, uint64_t elements) {
  const std::optional<GgmlTypeTraits> traits = GgmlTypeInfo(static_cast<uint32_t>(type));
  if (!traits) {
    return Fail(ErrorCode::kInvalidArgument, "unknown ggml type " + std::to_string(static_cast<uint32_t>(type)));
  }
  if (!CanDecode(type)) {
    return Fail(ErrorCode::kUnsupported, "ggml type " + std::string(traits->name) + " is not decodable here");
  }
  const auto block_size = static_cast<uint64_t>(traits->block_size);
  if (elements % block_size != 0) {
    return Fail(ErrorCode::kInvalidArgument, std::to_string(elements) + " elements are not a multiple of the " +
                                                 std::string(traits->name) + " block size " +
                                                 std::to_string(block_size));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements / block_size, static_cast<uint64_t>(traits->type_size), &bytes)) {
    return Fail(ErrorCode::kInvalidArgument, std::to_string(elements) + " " + std::string(traits->name) +
                                                 " elements overflow a 64-bit byte count");
  }
  return bytes;
}

Status DecodeRows(const GgufTensor& tensor, int64_t row_begin, int64_t row_count, std::span<float> out) {
  Expected<RowLayout> layout = Layout(tensor);
  if (!layout.ok()) return Fail(std::move(layout).error());
  const GgufTensorInfo& info = tensor.info;
  if (row_begin < 0 || row_count < 0 || row_begin > layout->rows || row_count > layout->rows - row_begin) {
    return Fail(ErrorCode::kInvalidArgument, Describe(info) + ": rows [" + std::to_string(row_begin) + ", +" +
                                                 std::to_string(row_count) + ") are outside its " +
                                                 std::to_string(layout->rows) + " rows");
  }
  // row_count <= rows and rows * cols elements fit the checked byte size.
  const uint64_t needed = static_cast<uint64_t>(row_count) * static_cast<uint64_t>(layout->cols);
  if (out.size() < needed) {
    return Fail(ErrorCode::kInvalidArgument, Describe(info) + ": output holds " + std::to_string(out.size()) +
                                                 " floats, " + std::to_string(row_count) + " rows need " +
                                                 std::to_string(needed));
  }
  for (int64_t r = 0; r < row_count; ++r) {
    DecodeRow(info.type, tensor.bytes.data() + static_cast<uint64_t>(row_begin + r) * layout->row_bytes,
              layout->cols, out.data() + r * layout->cols);
  }
  return {};
}

Expected<std::vector<float>> DecodeTensor(const GgufTensor& tensor) {
  // Layout first: the allocation below is then bounded by the bytes present.
  Expected<RowLayout> layout = Layout(tensor);
  if (!layout.ok()) return Fail(std::move(layout).error());
  std::vector<float> out(static_cast<size_t>(layout->rows * layout->cols));
  KPOLICY_TRY(DecodeRows(tensor, 0, layout->rows, out));
  return out;
}

Expected<WeightMatrix> RequantizeMatrix(WeightFormat format, std::span<const float> values, int64_t rows,
                                        int64_t cols) {
  if (format != WeightFormat::kQ4K && format != WeightFormat::kQ6K) {
    return Fail(ErrorCode::kInvalidArgument, "requantisation targets Q4_K or Q6_K, not " +
                                                 std::string(WeightFormatName(format)));
  }
  uint64_t elements = 0;
  if (rows < 0 || cols <= 0 ||
      __builtin_mul_overflow(static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), &elements) ||
      elements != values.size()) {
    return Fail(ErrorCode::kInvalidArgument, "requantisation of a " + std::to_string(rows) + " x " +
                                                 std::to_string(cols) + " matrix given " +
                                                 std::to_string(values.size()) + " values");
  }
  if (cols % kSuperBlockSize == 0) return QuantizeWeights(format, values, rows, cols);
  const int64_t padded = (cols / kSuperBlockSize + 1) * kSuperBlockSize;
  std::vector<float> wide(static_cast<size_t>(rows * padded), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(wide.data() + r * padded, values.data() + r * cols, static_cast<size_t>(cols) * sizeof(float));
  }
  return QuantizeWeights(format, wide, rows, padded);
}

}  // namespace kpolicy::kernels
