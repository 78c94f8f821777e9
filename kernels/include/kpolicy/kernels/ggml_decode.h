// Decoding GGUF tensors to floats on the CPU: the ggml block formats a real
// model ships (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
// Q6_K), each dequantised with the arithmetic of ggml's own dequantisers
// (fp16 scales widened to float, products in float), so that a model read
// here holds the same weights llama.cpp computes with. The block structs
// are the on-disk layouts byte for byte; Q4_K and Q6_K are block_formats.h's
// and decode through its dequantisers. Also requantisation of any float
// matrix to Q4_K or Q6_K, so that the Q4_K/Q6_K kernel variants can run
// every matrix of a model, not only those that ship in those formats.
//
// Thread-safety: pure functions on caller-owned buffers. Cost: one pass
// over the bytes decoded.
#ifndef KPOLICY_KERNELS_GGML_DECODE_H_
#define KPOLICY_KERNELS_GGML_DECODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/block_formats.h"
#include "kpolicy/kernels/gguf.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

// ---- Block layouts (ggml's block_q4_0 ... block_q5_K) ---------------------
// 32-weight blocks; d and m are fp16 bits; the low nibbles of qs hold
// weights 0..15 and the high nibbles weights 16..31.

// weight = d * (q - 8), q 4 bits.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

// weight = d * q + m, q 4 bits.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

// weight = d * (q - 16), q 5 bits: 4 in qs, the fifth of weight i in bit i
// of qh (little-endian u32).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

// weight = d * q + m, q 5 bits, laid out as in Q5_0.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// weight = d * q, q a signed byte.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q5_K: Q4_K's super-block (8 sub-blocks of 32, 6-bit scales and mins packed
// as in Q4KScaleMin, weight = d*sc*q - dmin*m) with 5-bit q: the low 4 bits
// in qs as in Q4_K, the fifth bit of weight 32*j + l in bit j of qh[l].
struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5K) == 176);
static_assert(offsetof(BlockQ5K, qh) == 16 && offsetof(BlockQ5K, qs) == 48);

// ---- Decoding -------------------------------------------------------------

// Bytes that `elements` elements of `type` occupy; error when the type is
// unknown or not decodable here, or elements is not a multiple of its block
// size (checked arithmetic).
Expected<uint64_t> GgmlTensorBytes(GgmlType type, uint64_t elements);

// Whether DecodeRows handles `type`.
bool CanDecode(GgmlType type);

// Rows [row_begin, row_begin + row_count) of a 2-D (or 1-D: one row; 3-D
// and 4-D: dims[1] * dims[2] * ... rows) tensor whose rows are dims[0]
// elements, dequantised as ggml's dequantisers compute them (fp32), into
// `out` (row_count * dims[0] floats; a larger `out` keeps its tail). Errors name
// the tensor: unsupported type (kUnsupported), rows out of range or out too
// small (kInvalidArgument), bytes too short (kInvalidInput).
Status DecodeRows(const GgufTensor& tensor, int64_t row_begin, int64_t row_count, std::span<float> out);

// The whole tensor as floats, dims[0] contiguous.
Expected<std::vector<float>> DecodeTensor(const GgufTensor& tensor);

// ---- Requantisation -------------------------------------------------------

// A rows x cols float matrix requantised to Q4_K or Q6_K (QuantizeWeights),
// each row zero-padded to a multiple of 256 columns; the WeightMatrix's cols
// is the padded width (callers pad activations with zeros: exact, since the
// padded weights multiply zeros). Errors: another format, a shape that does
// not match values.size() (kInvalidArgument).
Expected<WeightMatrix> RequantizeMatrix(WeightFormat format, std::span<const float> values, int64_t rows,
                                        int64_t cols);

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_GGML_DECODE_H_
