// Reading and writing GGUF files (versions 2 and 3): the header, metadata
// key/values of every GGUF value type, tensor infos, and tensor data by
// name. Built to face hostile files: every count, length, dimension and
// offset is checked against the file's size and against limits before
// anything is allocated, every size computation is checked for overflow,
// and every failure is an Error (kpolicy/error.h) whose place names the
// file and the byte offset where the problem was found: kInvalidInput for
// bad content, kUnreadable when the file cannot be opened or read,
// kNotFound for a tensor name the file lacks. Nothing here throws or aborts
// on bad input.
//
// File layout (all little-endian):
//   "GGUF" u32 version  u64 tensor_count  u64 metadata_count
//   metadata_count x { string key, u32 value_type, value }
//   tensor_count   x { string name, u32 n_dims, u64 dims[n_dims] (ne0
//                      first, the contiguous one), u32 ggml_type,
//                      u64 offset (from the data section, aligned) }
//   padding to general.alignment (default 32), then the data section.
//   string = u64 length + bytes (no terminator);
//   array  = u32 element type + u64 count + elements.
// Every dimension is at least 1 (a tensor with no elements is refused) and
// their product, the byte size and the data's end are checked for overflow.
//
// Thread-safety: GgufFile is immutable after Open/Parse; concurrent
// ReadTensor calls are safe (each opens its own file handle).
#ifndef KPOLICY_KERNELS_GGUF_H_
#define KPOLICY_KERNELS_GGUF_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/kernels/weights.h"

namespace kpolicy::kernels {

// The place of byte `offset` of a GGUF file, for Error::place.
inline SourceLocation GgufBytePlace(std::string file, uint64_t offset) {
  return SourceLocation{std::move(file), 0, 0, static_cast<int64_t>(offset)};
}

// ---- ggml tensor types ----------------------------------------------------

// The ggml type ids a GGUF tensor can carry (ggml.h's enum ggml_type).
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
};

struct GgmlTypeTraits {
  std::string_view name;
  int64_t block_size;  // elements per block
  int64_t type_size;   // bytes per block
};

// nullopt for ids this reader does not know (a tensor of such a type makes
// the file unreadable, since its size cannot be checked).
std::optional<GgmlTypeTraits> GgmlTypeInfo(uint32_t type);

// The ggml type that stores `format`; nullopt for FP8, which ggml lacks.
std::optional<GgmlType> GgmlTypeFor(WeightFormat format);
// The inverse: the weight format a ggml type is read as by the kernels
// (F32, F16, Q4_K, Q6_K); nullopt for the others.
std::optional<WeightFormat> WeightFormatFor(GgmlType type);

// ---- Metadata values ------------------------------------------------------

enum class GgufValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

// One metadata value. Integers are widened to 64 bits and floats to double
// (both exact); `type` keeps the width it had in the file, so writing a
// value back gives the same bytes.
struct GgufValue {
  struct Array {
    GgufValueType element_type = GgufValueType::kUint8;
    std::vector<GgufValue> items;
    bool operator==(const Array&) const = default;
  };

  GgufValueType type = GgufValueType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

  static GgufValue Uint(GgufValueType type, uint64_t v) { return {type, v}; }
  static GgufValue Int(GgufValueType type, int64_t v) { return {type, v}; }
  static GgufValue Float(GgufValueType type, double v) { return {type, v}; }
  static GgufValue U32(uint32_t v) { return Uint(GgufValueType::kUint32, v); }
  static GgufValue U64(uint64_t v) { return Uint(GgufValueType::kUint64, v); }
  static GgufValue I32(int32_t v) { return Int(GgufValueType::kInt32, v); }
  static GgufValue F32(float v) { return Float(GgufValueType::kFloat32, v); }
  static GgufValue Bool(bool v) { return {GgufValueType::kBool, v}; }
  static GgufValue String(std::string v) { return {GgufValueType::kString, std::move(v)}; }
  static GgufValue MakeArray(GgufValueType element_type, std::vector<GgufValue> items) {
    return {GgufValueType::kArray, Array{element_type, std::move(items)}};
  }

  // Typed reads; nullopt when the value holds something else.
  std::optional<uint64_t> AsUint() const;
  std::optional<int64_t> AsInt() const;  // signed, or unsigned that fits
  std::optional<double> AsFloat() const;
  const std::string* AsString() const;
  const Array* AsArray() const;

  bool operator==(const GgufValue&) const = default;
};

struct GgufMetadataEntry {
  std::string key;
  GgufValue value;
};

// ---- Reading --------------------------------------------------------------

struct GgufReadOptions {
  // false: metadata is parsed and checked, then dropped (tokenizer tables
  // can be tens of MB that a kernel test never looks at).
  bool keep_metadata = true;
  // Limits beyond the file-size checks, so that a file that is merely big
  // cannot make the reader allocate or work without bound: each kept value
  // costs about 48 bytes however few it took in the file, so the element
  // limits bound the reader's memory (2^21 values: about 100 MiB) and time.
  // Real models sit far inside them: Gemma 3's vocabulary is the largest
  // array in common use (262,144 tokens; its three tokenizer arrays hold
  // 786,432 values), and a model has a few thousand tensors (Llama 3 70B:
  // 723).
  uint64_t max_metadata_entries = 1 << 16;
  uint64_t max_tensors = 1 << 16;
  uint64_t max_string_bytes = 1 << 24;    // one string (key, value or name)
  uint64_t max_array_elements = 1 << 20;  // one array: 4x Gemma 3's vocabulary
  uint64_t max_metadata_values = 1 << 21; // every array element of the file together
  int max_array_depth = 4;                // arrays of arrays of ...
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<uint64_t> dims;  // ne0 (contiguous) first
  uint64_t offset = 0;         // from the start of the data section
  uint64_t byte_size = 0;      // checked to fit in the file
  uint64_t elements = 0;
};

struct GgufTensor {
  GgufTensorInfo info;
  std::vector<uint8_t> bytes;
};

class GgufFile {
 public:
  // Reads and checks the header, metadata and tensor infos; tensor data is
  // read on demand by ReadTensor.
  static Expected<GgufFile> Open(const std::string& path, const GgufReadOptions& options = {});
  // The same for a file already in memory; `name` appears in errors.
  static Expected<GgufFile> Parse(std::vector<uint8_t> bytes, std::string name = "<memory>",
                                  const GgufReadOptions& options = {});

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute
  uint64_t file_size() const { return file_size_; }
  const std::vector<GgufMetadataEntry>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // By key or name, in O(log n): an index sorted at Open.
  const GgufValue* FindMetadata(std::string_view key) const;
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // The tensor's raw bytes with its type and shape. Errors: no such tensor,
  // or the file changed or could not be read since Open.
  Expected<GgufTensor> ReadTensor(std::string_view name) const;

 private:
  std::string name_;
  std::string path_;                                  // empty when parsed from memory
  std::shared_ptr<const std::vector<uint8_t>> memory_;  // set when parsed from memory
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  uint64_t file_size_ = 0;
  std::vector<GgufMetadataEntry> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  // Indices into metadata_ / tensors_ in key / name order (positions, not
  // pointers, so that copies of the file stay valid).
  std::vector<uint32_t> metadata_by_key_;
  std::vector<uint32_t> tensors_by_name_;

  friend class GgufParser;
};

// A 2-D F32, F16, Q4_K or Q6_K tensor as a weight matrix (rows = dims[1],
// cols = dims[0]). Errors name the tensor: other types (kUnsupported),
// other ranks or a byte size that does not match the shape (kInvalidInput).
Expected<WeightMatrix> ToWeightMatrix(const GgufTensor& tensor, const std::string& file);

// ---- Writing --------------------------------------------------------------

// Collects metadata and tensors, then writes a file that GgufFile (and
// ggml's gguf reader) accepts. Tensors are laid out in the order added,
// each at the next aligned offset.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}

  // Alignment other than 32 is recorded as general.alignment (u32).
  void SetAlignment(uint32_t alignment) { alignment_ = alignment; }
  void AddMetadata(std::string key, GgufValue value);
  void AddTensor(std::string name, GgmlType type, std::vector<uint64_t> dims,
                 std::vector<uint8_t> bytes);
  // A weight matrix as a 2-D tensor {cols, rows}; FP8 has no ggml type and
  // makes Serialize fail.
  void AddWeights(std::string name, const WeightMatrix& weights);

  // Errors (kInvalidArgument, placed at byte 0 of "<gguf writer>"): a
  // version other than 2 or 3, an alignment that is not a power of two,
  // duplicate keys or names, a tensor whose bytes do not match its type and
  // shape.
  Expected<std::vector<uint8_t>> Serialize() const;
  // Serialize, then write to path; returns the number of bytes written.
  // Serialize's errors are placed in `path`; a file that cannot be created
  // or written is kUnreadable (an I/O failure) at the byte reached.
  Expected<uint64_t> WriteFile(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> bytes;
  };
  uint32_t version_;
  uint32_t alignment_ = 32;
  std::vector<GgufMetadataEntry> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace kpolicy::kernels

#endif  // KPOLICY_KERNELS_GGUF_H_
