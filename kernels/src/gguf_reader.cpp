#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "kpolicy/kernels/gguf.h"

namespace kpolicy::kernels {

namespace {

// Where the parser's bytes come from: a buffer, or a file read piecewise so
// that a multi-gigabyte model is never loaded whole just to read its header.
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Exactly n bytes at offset into dst; false on a short read or I/O error.
  virtual bool Read(uint64_t offset, uint64_t n, uint8_t* dst) const = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  bool Read(uint64_t offset, uint64_t n, uint8_t* dst) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
    return true;
  }

 private:
  const std::vector<uint8_t>& bytes_;
};

class FileSource : public Source {
 public:
  ~FileSource() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  // Opens and measures the file; false with a message in *error otherwise.
  bool Open(const std::string& path, std::string* error) {
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      *error = "cannot open: " + std::string(std::strerror(errno));
      return false;
    }
    if (std::fseek(file_, 0, SEEK_END) != 0) {
      *error = "cannot seek: " + std::string(std::strerror(errno));
      return false;
    }
    const long end = std::ftell(file_);
    if (end < 0) {
      *error = "cannot measure (not a regular file?)";
      return false;
    }
    size_ = static_cast<uint64_t>(end);
    return true;
  }
  uint64_t size() const override { return size_; }
  bool Read(uint64_t offset, uint64_t n, uint8_t* dst) const override {
    if (offset > size_ || n > size_ - offset) return false;
    if (offset > static_cast<uint64_t>(std::numeric_limits<long>::max())) return false;
    // The parser reads forward in small pieces: seek only when it jumps, so
    // that the stream's buffer serves a metadata array's million elements.
    if (offset != position_ && std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0) return false;
    position_ = offset;
    if (std::fread(dst, 1, n, file_) != n) {
      position_ = kUnknown;
      return false;
    }
    position_ += n;
    return true;
  }

 private:
  static constexpr uint64_t kUnknown = ~uint64_t{0};
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  mutable uint64_t position_ = kUnknown;  // where the stream stands
};

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

// The fewest bytes a value of this type can occupy: the bound that lets a
// claimed count be checked against the bytes left before allocating.
uint64_t MinEncodedSize(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool: return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16: return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32: return 4;
    case GgufValueType::kString:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64: return 8;
    case GgufValueType::kArray: return 12;
  }
  return 1;
}

bool KnownValueType(uint32_t type) { return type <= static_cast<uint32_t>(GgufValueType::kFloat64); }

}  // namespace

// Parses the header of one file, keeping the first error. Every read
// function returns false once an error is recorded, so that callers can
// simply return false up the stack.
class GgufParser {
 public:
  GgufParser(const Source& source, std::string name, const GgufReadOptions& options)
      : source_(source), name_(std::move(name)), options_(options) {}

  Expected<GgufFile> Run() {
    GgufFile file;
    file.name_ = name_;
    file.file_size_ = source_.size();
    if (!ParseHeader(&file) || !ParseMetadata(&file) || !ParseTensorInfos(&file) ||
        !PlaceData(&file)) {
      return Fail(*error_);
    }
    return file;
  }

 private:
  // Records the first error (bad content unless `code` says otherwise).
  bool Reject(uint64_t at, std::string message, ErrorCode code = ErrorCode::kInvalidInput) {
    if (!error_) error_ = kpolicy::Error(code, GgufBytePlace(name_, at), std::move(message));
    return false;
  }

  uint64_t Remaining() const { return source_.size() - pos_; }

  bool ReadRaw(void* dst, uint64_t n, std::string_view what) {
    if (n > Remaining()) {
      return Reject(pos_, "truncated: " + std::string(what) + " needs " + std::to_string(n) +
                             " bytes, " + std::to_string(Remaining()) + " left in a file of " +
                             std::to_string(source_.size()) + " bytes");
    }
    if (!source_.Read(pos_, n, static_cast<uint8_t*>(dst))) {
      return Reject(pos_, "read error while reading " + std::string(what), ErrorCode::kUnreadable);
    }
    pos_ += n;
    return true;
  }

  template <typename T>
  bool ReadScalar(T* value, std::string_view what) {
    return ReadRaw(value, sizeof(T), what);
  }

  bool ReadString(std::string* out, std::string_view what) {
    const uint64_t at = pos_;
    uint64_t length = 0;
    if (!ReadScalar(&length, what)) return false;
    if (length > options_.max_string_bytes) {
      return Reject(at, std::string(what) + " claims " + std::to_string(length) +
                           " bytes, over the limit of " + std::to_string(options_.max_string_bytes));
    }
    if (length > Remaining()) {
      return Reject(at, "truncated: " + std::string(what) + " claims " + std::to_string(length) +
                           " bytes, " + std::to_string(Remaining()) + " left");
    }
    std::string s(length, '\0');
    if (!ReadRaw(s.data(), length, what)) return false;
    if (out != nullptr) *out = std::move(s);
    return true;
  }

  bool ParseHeader(GgufFile* file) {
    char magic[4];
    if (source_.size() < 4) {
      return Reject(0, "not a GGUF file: " + std::to_string(source_.size()) +
                          " bytes, too short for the magic");
    }
    if (!ReadRaw(magic, 4, "magic")) return false;
    if (std::memcmp(magic, "GGUF", 4) != 0) {
      char shown[64];
      std::snprintf(shown, sizeof shown, "%02x %02x %02x %02x",
                    static_cast<unsigned char>(magic[0]), static_cast<unsigned char>(magic[1]),
                    static_cast<unsigned char>(magic[2]), static_cast<unsigned char>(magic[3]));
      return Reject(0, std::string("not a GGUF file: magic is ") + shown +
                          ", expected 47 47 55 46 (\"GGUF\")");
    }
    uint32_t version = 0;
    if (!ReadScalar(&version, "version")) return false;
    if (version == 0x02000000u || version == 0x03000000u) {
      return Reject(4, "big-endian GGUF files are not supported");
    }
    if (version != 2 && version != 3) {
      return Reject(4, "unsupported GGUF version " + std::to_string(version) +
                          " (supported: 2 and 3)");
    }
    file->version_ = version;
    if (!ReadScalar(&tensor_count_, "tensor count") ||
        !ReadScalar(&metadata_count_, "metadata count")) {
      return false;
    }
    // Each entry takes at least this many bytes, so a count beyond the
    // bytes left is a lie, caught here before anything is reserved.
    constexpr uint64_t kMinTensorInfo = 8 + 4 + 8 + 4 + 8;  // name len, n_dims, one dim, type, offset
    constexpr uint64_t kMinMetadataEntry = 8 + 4 + 1;
    if (tensor_count_ > options_.max_tensors) {
      return Reject(8, "tensor count " + std::to_string(tensor_count_) + " is over the limit of " +
                          std::to_string(options_.max_tensors) + " tensors");
    }
    if (tensor_count_ > Remaining() / kMinTensorInfo) {
      return Reject(8, "tensor count " + std::to_string(tensor_count_) + " is impossible for a file of " +
                          std::to_string(source_.size()) + " bytes");
    }
    if (metadata_count_ > options_.max_metadata_entries) {
      return Reject(16, "metadata count " + std::to_string(metadata_count_) + " is over the limit of " +
                           std::to_string(options_.max_metadata_entries) + " keys");
    }
    if (metadata_count_ > Remaining() / kMinMetadataEntry) {
      return Reject(16, "metadata count " + std::to_string(metadata_count_) + " is impossible for a file of " +
                           std::to_string(source_.size()) + " bytes");
    }
    return true;
  }

  // Reads one value of `type` into *out (nullptr: check and skip it).
  bool ReadValue(GgufValueType type, int depth, GgufValue* out, const std::string& key) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufValueType::kUint8: { uint8_t x; if (!ReadScalar(&x, "value")) return false; v.data = uint64_t{x}; break; }
      case GgufValueType::kUint16: { uint16_t x; if (!ReadScalar(&x, "value")) return false; v.data = uint64_t{x}; break; }
      case GgufValueType::kUint32: { uint32_t x; if (!ReadScalar(&x, "value")) return false; v.data = uint64_t{x}; break; }
      case GgufValueType::kUint64: { uint64_t x; if (!ReadScalar(&x, "value")) return false; v.data = x; break; }
      case GgufValueType::kInt8: { int8_t x; if (!ReadScalar(&x, "value")) return false; v.data = int64_t{x}; break; }
      case GgufValueType::kInt16: { int16_t x; if (!ReadScalar(&x, "value")) return false; v.data = int64_t{x}; break; }
      case GgufValueType::kInt32: { int32_t x; if (!ReadScalar(&x, "value")) return false; v.data = int64_t{x}; break; }
      case GgufValueType::kInt64: { int64_t x; if (!ReadScalar(&x, "value")) return false; v.data = x; break; }
      case GgufValueType::kFloat32: { float x; if (!ReadScalar(&x, "value")) return false; v.data = double{x}; break; }
      case GgufValueType::kFloat64: { double x; if (!ReadScalar(&x, "value")) return false; v.data = x; break; }
      case GgufValueType::kBool: {
        const uint64_t at = pos_;
        uint8_t x;
        if (!ReadScalar(&x, "value")) return false;
        if (x > 1) return Reject(at, "key '" + key + "': bool value " + std::to_string(x) + " is not 0 or 1");
        v.data = x == 1;
        break;
      }
      case GgufValueType::kString: {
        std::string s;
        if (!ReadString(out != nullptr ? &s : nullptr, "string value")) return false;
        v.data = std::move(s);
        break;
      }
      case GgufValueType::kArray: {
        const uint64_t at = pos_;
        if (depth >= options_.max_array_depth) {
          return Reject(at, "key '" + key + "': arrays nested deeper than " +
                               std::to_string(options_.max_array_depth));
        }
        uint32_t element_type = 0;
        uint64_t count = 0;
        if (!ReadScalar(&element_type, "array element type") || !ReadScalar(&count, "array length")) {
          return false;
        }
        if (!KnownValueType(element_type)) {
          return Reject(at, "key '" + key + "': unknown array element type " + std::to_string(element_type));
        }
        const auto et = static_cast<GgufValueType>(element_type);
        if (count > options_.max_array_elements) {
          return Reject(at + 4, "key '" + key + "': array length " + std::to_string(count) +
                                   " is over the limit of " + std::to_string(options_.max_array_elements) +
                                   " elements per array");
        }
        if (count > Remaining() / MinEncodedSize(et)) {
          return Reject(at + 4, "key '" + key + "': array length " + std::to_string(count) +
                                   " is impossible with " + std::to_string(Remaining()) + " bytes left");
        }
        values_ += count;
        if (values_ > options_.max_metadata_values) {
          return Reject(at + 4, "key '" + key + "': the metadata's arrays hold more than " +
                                   std::to_string(options_.max_metadata_values) + " values together (the limit)");
        }
        GgufValue::Array array;
        array.element_type = et;
        if (out != nullptr) array.items.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
          GgufValue item;
          if (!ReadValue(et, depth + 1, out != nullptr ? &item : nullptr, key)) return false;
          if (out != nullptr) array.items.push_back(std::move(item));
        }
        v.data = std::move(array);
        break;
      }
    }
    if (out != nullptr) *out = std::move(v);
    return true;
  }

  bool ParseMetadata(GgufFile* file) {
    std::vector<std::string> keys;  // for the duplicate check
    std::vector<uint64_t> keys_at;
    keys.reserve(metadata_count_);
    keys_at.reserve(metadata_count_);
    for (uint64_t i = 0; i < metadata_count_; ++i) {
      const uint64_t entry_at = pos_;
      std::string key;
      uint32_t raw_type = 0;
      if (!ReadString(&key, "metadata key")) return false;
      const uint64_t type_at = pos_;
      if (!ReadScalar(&raw_type, "metadata value type")) return false;
      if (!KnownValueType(raw_type)) {
        return Reject(type_at, "key '" + key + "': unknown value type " + std::to_string(raw_type));
      }
      keys.push_back(key);
      keys_at.push_back(entry_at);
      const uint64_t value_at = pos_;
      GgufValue value;
      const bool keep = options_.keep_metadata || key == "general.alignment";
      if (!ReadValue(static_cast<GgufValueType>(raw_type), 0, keep ? &value : nullptr, key)) {
        return false;
      }
      if (key == "general.alignment") {
        const std::optional<uint64_t> a = value.AsUint();
        if (value.type != GgufValueType::kUint32 || !a || *a == 0 || (*a & (*a - 1)) != 0) {
          return Reject(value_at, "general.alignment must be a u32 power of two");
        }
        file->alignment_ = *a;
      }
      if (options_.keep_metadata) file->metadata_.push_back({std::move(key), std::move(value)});
    }
    std::vector<uint32_t> order;
    if (!SortByName(keys, keys_at, "metadata key", &order)) return false;
    if (options_.keep_metadata) file->metadata_by_key_ = std::move(order);
    return true;
  }

  // The positions of `names` in name order, with the first duplicate (the
  // later one in the file, at its offset in `at`) rejected: O(n log n).
  bool SortByName(const std::vector<std::string>& names, const std::vector<uint64_t>& at, std::string_view what,
                  std::vector<uint32_t>* order) {
    order->resize(names.size());
    for (size_t i = 0; i < names.size(); ++i) (*order)[i] = static_cast<uint32_t>(i);
    std::stable_sort(order->begin(), order->end(), [&](uint32_t a, uint32_t b) { return names[a] < names[b]; });
    uint64_t duplicate = names.size();
    for (size_t i = 1; i < order->size(); ++i) {
      if (names[(*order)[i]] == names[(*order)[i - 1]]) duplicate = std::min<uint64_t>(duplicate, (*order)[i]);
    }
    if (duplicate == names.size()) return true;
    return Reject(at[duplicate], "duplicate " + std::string(what) + " '" + names[duplicate] + "'");
  }

  bool ParseTensorInfos(GgufFile* file) {
    std::vector<std::string> names;
    std::vector<uint64_t> infos_at;
    file->tensors_.reserve(tensor_count_);
    offset_field_at_.reserve(tensor_count_);
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      const uint64_t info_at = pos_;
      GgufTensorInfo info;
      if (!ReadString(&info.name, "tensor name")) return false;
      const std::string label = "tensor '" + info.name + "'";
      const uint64_t dims_at = pos_;
      uint32_t n_dims = 0;
      if (!ReadScalar(&n_dims, "tensor n_dims")) return false;
      if (n_dims == 0 || n_dims > kMaxDims) {
        return Reject(dims_at, label + ": n_dims " + std::to_string(n_dims) + " is not in 1.." +
                                  std::to_string(kMaxDims));
      }
      info.dims.resize(n_dims);
      uint64_t elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t dim_at = pos_;
        if (!ReadScalar(&info.dims[d], "tensor dimension")) return false;
        // 0 would make the product 0 and let any other dimension through;
        // a tensor without elements is of no use to anything here.
        if (info.dims[d] == 0) return Reject(dim_at, label + ": dimension " + std::to_string(d) + " is 0");
        if (info.dims[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            __builtin_mul_overflow(elements, info.dims[d], &elements) ||
            elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Reject(dim_at, label + ": dimensions overflow 63 bits");
        }
      }
      const uint64_t type_at = pos_;
      uint32_t raw_type = 0;
      if (!ReadScalar(&raw_type, "tensor type")) return false;
      const std::optional<GgmlTypeTraits> traits = GgmlTypeInfo(raw_type);
      if (!traits) return Reject(type_at, label + ": unknown ggml type " + std::to_string(raw_type));
      info.type = static_cast<GgmlType>(raw_type);
      if (info.dims[0] % static_cast<uint64_t>(traits->block_size) != 0) {
        return Reject(dims_at, label + ": ne0 " + std::to_string(info.dims[0]) +
                                  " is not a multiple of the " + std::string(traits->name) +
                                  " block size " + std::to_string(traits->block_size));
      }
      info.elements = elements;
      // elements / block_size <= 2^63 and type_size <= 292, but the product
      // can still pass 2^64: check it.
      if (__builtin_mul_overflow(elements / traits->block_size,
                                 static_cast<uint64_t>(traits->type_size), &info.byte_size)) {
        return Reject(dims_at, label + ": byte size overflows 64 bits");
      }
      offset_field_at_.push_back(pos_);
      if (!ReadScalar(&info.offset, "tensor data offset")) return false;
      names.push_back(info.name);
      infos_at.push_back(info_at);
      file->tensors_.push_back(std::move(info));
    }
    return SortByName(names, infos_at, "tensor name", &file->tensors_by_name_);
  }

  bool PlaceData(GgufFile* file) {
    const uint64_t alignment = file->alignment_;
    uint64_t data_offset = 0;
    if (__builtin_add_overflow(pos_, alignment - 1, &data_offset)) {
      return Reject(pos_, "data section offset overflows");
    }
    data_offset -= data_offset % alignment;
    file->data_offset_ = data_offset;
    const uint64_t size = source_.size();
    for (size_t i = 0; i < file->tensors_.size(); ++i) {
      const GgufTensorInfo& t = file->tensors_[i];
      const std::string label = "tensor '" + t.name + "'";
      if (t.offset % alignment != 0) {
        return Reject(offset_field_at_[i], label + ": data offset " + std::to_string(t.offset) +
                                              " is not a multiple of the alignment " +
                                              std::to_string(alignment));
      }
      uint64_t begin = 0, end = 0;
      if (__builtin_add_overflow(data_offset, t.offset, &begin) ||
          __builtin_add_overflow(begin, t.byte_size, &end) || end > size) {
        return Reject(offset_field_at_[i],
                     label + ": data [" + std::to_string(t.offset) + ", +" +
                         std::to_string(t.byte_size) + ") of the data section at byte " +
                         std::to_string(data_offset) + " lies beyond the end of the file (" +
                         std::to_string(size) + " bytes)");
      }
    }
    return true;
  }

  const Source& source_;
  std::string name_;
  GgufReadOptions options_;
  uint64_t pos_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t metadata_count_ = 0;
  uint64_t values_ = 0;  // array elements so far (max_metadata_values)
  std::vector<uint64_t> offset_field_at_;
  std::optional<kpolicy::Error> error_;
};

std::optional<uint64_t> GgufValue::AsUint() const {
  if (const auto* v = std::get_if<uint64_t>(&data)) return *v;
  return std::nullopt;
}

std::optional<int64_t> GgufValue::AsInt() const {
  if (const auto* v = std::get_if<int64_t>(&data)) return *v;
  if (const auto* v = std::get_if<uint64_t>(&data)) {
    if (*v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(*v);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::AsFloat() const {
  if (const auto* v = std::get_if<double>(&data)) return *v;
  return std::nullopt;
}

const std::string* GgufValue::AsString() const { return std::get_if<std::string>(&data); }
const GgufValue::Array* GgufValue::AsArray() const { return std::get_if<Array>(&data); }

Expected<GgufFile> GgufFile::Open(const std::string& path, const GgufReadOptions& options) {
  FileSource source;
  std::string message;
  if (!source.Open(path, &message)) return Fail(ErrorCode::kUnreadable, GgufBytePlace(path, 0), message);
  Expected<GgufFile> file = GgufParser(source, path, options).Run();
  if (file.ok()) file->path_ = path;
  return file;
}

Expected<GgufFile> GgufFile::Parse(std::vector<uint8_t> bytes, std::string name,
                                              const GgufReadOptions& options) {
  auto memory = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  MemorySource source(*memory);
  Expected<GgufFile> file = GgufParser(source, std::move(name), options).Run();
  if (file.ok()) file->memory_ = std::move(memory);
  return file;
}

namespace {

// The element of `items` (in `order`, sorted by `name_of`) named `name`.
template <typename T, typename NameOf>
const T* FindSorted(const std::vector<T>& items, const std::vector<uint32_t>& order, std::string_view name,
                    NameOf name_of) {
  auto it = std::lower_bound(order.begin(), order.end(), name,
                             [&](uint32_t i, std::string_view n) { return std::string_view(name_of(items[i])) < n; });
  if (it == order.end() || name_of(items[*it]) != name) return nullptr;
  return &items[*it];
}

}  // namespace

const GgufValue* GgufFile::FindMetadata(std::string_view key) const {
  const GgufMetadataEntry* e =
      FindSorted(metadata_, metadata_by_key_, key, [](const GgufMetadataEntry& m) -> const std::string& { return m.key; });
  return e ? &e->value : nullptr;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  return FindSorted(tensors_, tensors_by_name_, name, [](const GgufTensorInfo& t) -> const std::string& { return t.name; });
}

Expected<GgufTensor> GgufFile::ReadTensor(std::string_view name) const {
  const GgufTensorInfo* info = FindTensor(name);
  if (info == nullptr) {
    return Fail(ErrorCode::kNotFound, GgufBytePlace(name_, 0), "no tensor named '" + std::string(name) + "'");
  }
  GgufTensor tensor{*info, std::vector<uint8_t>(info->byte_size)};
  const uint64_t at = data_offset_ + info->offset;  // checked at parse time
  if (memory_) {
    MemorySource source(*memory_);
    if (!source.Read(at, info->byte_size, tensor.bytes.data())) {
      return Fail(ErrorCode::kUnreadable, GgufBytePlace(name_, at), "cannot read tensor '" + info->name + "'");
    }
    return tensor;
  }
  FileSource source;
  std::string message;
  if (!source.Open(path_, &message)) return Fail(ErrorCode::kUnreadable, GgufBytePlace(name_, 0), message);
  if (source.size() != file_size_) {
    return Fail(ErrorCode::kUnreadable, GgufBytePlace(name_, 0),
                "file changed size since it was opened (" + std::to_string(file_size_) + " -> " +
                    std::to_string(source.size()) + " bytes)");
  }
  if (!source.Read(at, info->byte_size, tensor.bytes.data())) {
    return Fail(ErrorCode::kUnreadable, GgufBytePlace(name_, at),
                "read error in the data of tensor '" + info->name + "'");
  }
  return tensor;
}

}  // namespace kpolicy::kernels
