#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "kpolicy/kernels/gguf.h"

namespace kpolicy::kernels {

namespace {

// Appends little-endian scalars and GGUF strings to a byte buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}

  template <typename T>
  void Scalar(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    out_->insert(out_->end(), p, p + sizeof(T));
  }
  void String(const std::string& s) {
    Scalar<uint64_t>(s.size());
    out_->insert(out_->end(), s.begin(), s.end());
  }
  void PadTo(uint64_t alignment) {
    while (out_->size() % alignment != 0) out_->push_back(0);
  }

 private:
  std::vector<uint8_t>* out_;
};

// Writes a value in the width its type names; false when the value's
// payload does not fit that type (e.g. a string marked as u32).
bool WriteValue(const GgufValue& v, ByteWriter* w) {
  const auto* u = std::get_if<uint64_t>(&v.data);
  const auto* i = std::get_if<int64_t>(&v.data);
  const auto* f = std::get_if<double>(&v.data);
  switch (v.type) {
    case GgufValueType::kUint8: if (!u) return false; w->Scalar<uint8_t>(static_cast<uint8_t>(*u)); return true;
    case GgufValueType::kUint16: if (!u) return false; w->Scalar<uint16_t>(static_cast<uint16_t>(*u)); return true;
    case GgufValueType::kUint32: if (!u) return false; w->Scalar<uint32_t>(static_cast<uint32_t>(*u)); return true;
    case GgufValueType::kUint64: if (!u) return false; w->Scalar<uint64_t>(*u); return true;
    case GgufValueType::kInt8: if (!i) return false; w->Scalar<int8_t>(static_cast<int8_t>(*i)); return true;
    case GgufValueType::kInt16: if (!i) return false; w->Scalar<int16_t>(static_cast<int16_t>(*i)); return true;
    case GgufValueType::kInt32: if (!i) return false; w->Scalar<int32_t>(static_cast<int32_t>(*i)); return true;
    case GgufValueType::kInt64: if (!i) return false; w->Scalar<int64_t>(*i); return true;
    case GgufValueType::kFloat32: if (!f) return false; w->Scalar<float>(static_cast<float>(*f)); return true;
    case GgufValueType::kFloat64: if (!f) return false; w->Scalar<double>(*f); return true;
    case GgufValueType::kBool: {
      const auto* b = std::get_if<bool>(&v.data);
      if (!b) return false;
      w->Scalar<uint8_t>(*b ? 1 : 0);
      return true;
    }
    case GgufValueType::kString: {
      const auto* s = std::get_if<std::string>(&v.data);
      if (!s) return false;
      w->String(*s);
      return true;
    }
    case GgufValueType::kArray: {
      const auto* a = std::get_if<GgufValue::Array>(&v.data);
      if (!a) return false;
      w->Scalar<uint32_t>(static_cast<uint32_t>(a->element_type));
      w->Scalar<uint64_t>(a->items.size());
      for (const GgufValue& item : a->items) {
        if (item.type != a->element_type || !WriteValue(item, w)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<GgmlTypeTraits> GgmlTypeInfo(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return GgmlTypeTraits{"F32", 1, 4};
    case GgmlType::kF16: return GgmlTypeTraits{"F16", 1, 2};
    case GgmlType::kQ4_0: return GgmlTypeTraits{"Q4_0", 32, 18};
    case GgmlType::kQ4_1: return GgmlTypeTraits{"Q4_1", 32, 20};
    case GgmlType::kQ5_0: return GgmlTypeTraits{"Q5_0", 32, 22};
    case GgmlType::kQ5_1: return GgmlTypeTraits{"Q5_1", 32, 24};
    case GgmlType::kQ8_0: return GgmlTypeTraits{"Q8_0", 32, 34};
    case GgmlType::kQ8_1: return GgmlTypeTraits{"Q8_1", 32, 36};
    case GgmlType::kQ2_K: return GgmlTypeTraits{"Q2_K", 256, 84};
    case GgmlType::kQ3_K: return GgmlTypeTraits{"Q3_K", 256, 110};
    case GgmlType::kQ4_K: return GgmlTypeTraits{"Q4_K", 256, 144};
    case GgmlType::kQ5_K: return GgmlTypeTraits{"Q5_K", 256, 176};
    case GgmlType::kQ6_K: return GgmlTypeTraits{"Q6_K", 256, 210};
    case GgmlType::kQ8_K: return GgmlTypeTraits{"Q8_K", 256, 292};
    case GgmlType::kIQ2_XXS: return GgmlTypeTraits{"IQ2_XXS", 256, 66};
    case GgmlType::kIQ2_XS: return GgmlTypeTraits{"IQ2_XS", 256, 74};
    case GgmlType::kIQ3_XXS: return GgmlTypeTraits{"IQ3_XXS", 256, 98};
    case GgmlType::kIQ1_S: return GgmlTypeTraits{"IQ1_S", 256, 50};
    case GgmlType::kIQ4_NL: return GgmlTypeTraits{"IQ4_NL", 32, 18};
    case GgmlType::kIQ3_S: return GgmlTypeTraits{"IQ3_S", 256, 110};
    case GgmlType::kIQ2_S: return GgmlTypeTraits{"IQ2_S", 256, 82};
    case GgmlType::kIQ4_XS: return GgmlTypeTraits{"IQ4_XS", 256, 136};
    case GgmlType::kI8: return GgmlTypeTraits{"I8", 1, 1};
    case GgmlType::kI16: return GgmlTypeTraits{"I16", 1, 2};
    case GgmlType::kI32: return GgmlTypeTraits{"I32", 1, 4};
    case GgmlType::kI64: return GgmlTypeTraits{"I64", 1, 8};
    case GgmlType::kF64: return GgmlTypeTraits{"F64", 1, 8};
    case GgmlType::kIQ1_M: return GgmlTypeTraits{"IQ1_M", 256, 56};
    case GgmlType::kBF16: return GgmlTypeTraits{"BF16", 1, 2};
    case GgmlType::kTQ1_0: return GgmlTypeTraits{"TQ1_0", 256, 54};
    case GgmlType::kTQ2_0: return GgmlTypeTraits{"TQ2_0", 256, 66};
    case GgmlType::kMXFP4: return GgmlTypeTraits{"MXFP4", 32, 17};
  }
  return std::nullopt;
}

std::optional<GgmlType> GgmlTypeFor(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return GgmlType::kF32;
    case WeightFormat::kF16: return GgmlType::kF16;
    case WeightFormat::kQ4K: return GgmlType::kQ4_K;
    case WeightFormat::kQ6K: return GgmlType::kQ6_K;
    case WeightFormat::kFp8E4M3: return std::nullopt;
  }
  return std::nullopt;
}

std::optional<WeightFormat> WeightFormatFor(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return WeightFormat::kF32;
    case GgmlType::kF16: return WeightFormat::kF16;
    case GgmlType::kQ4_K: return WeightFormat::kQ4K;
    case GgmlType::kQ6_K: return WeightFormat::kQ6K;
    default: return std::nullopt;
  }
}

Expected<WeightMatrix> ToWeightMatrix(const GgufTensor& tensor, const std::string& file) {
  const GgufTensorInfo& info = tensor.info;
  auto error = [&](std::string message, ErrorCode code = ErrorCode::kInvalidInput) {
    return Fail(code, GgufBytePlace(file, 0), "tensor '" + info.name + "': " + std::move(message));
  };
  const std::optional<WeightFormat> format = WeightFormatFor(info.type);
  if (!format) {
    return error("type " + std::string(GgmlTypeInfo(static_cast<uint32_t>(info.type))->name) +
                     " is not a weight format the kernels read",
                 ErrorCode::kUnsupported);
  }
  WeightMatrix m;
  m.format = *format;
  if (info.dims.size() != 2) return error("is not 2-D");
  // Dims below 2^63 (the reader's check), so the casts keep their values;
  // the byte size is computed checked, as the dims come from the file.
  m.cols = static_cast<int64_t>(info.dims[0]);
  m.rows = static_cast<int64_t>(info.dims[1]);
  const std::optional<int64_t> bytes = MatrixBytes(m.format, m.rows, m.cols);
  if (!bytes || static_cast<uint64_t>(*bytes) != tensor.bytes.size()) {
    return error("byte size does not match its shape");
  }
  m.bytes = tensor.bytes;
  return m;
}

void GgufWriter::AddMetadata(std::string key, GgufValue value) {
  metadata_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::AddTensor(std::string name, GgmlType type, std::vector<uint64_t> dims,
                           std::vector<uint8_t> bytes) {
  tensors_.push_back({std::move(name), static_cast<uint32_t>(type), std::move(dims), std::move(bytes)});
}

void GgufWriter::AddWeights(std::string name, const WeightMatrix& weights) {
  const std::optional<GgmlType> type = GgmlTypeFor(weights.format);
  // No ggml type: recorded with an id no reader knows, so Serialize reports it.
  const uint32_t raw = type ? static_cast<uint32_t>(*type) : 0xFFFFFFFFu;
  tensors_.push_back({std::move(name), raw,
                      {static_cast<uint64_t>(weights.cols), static_cast<uint64_t>(weights.rows)},
                      weights.bytes});
}

Expected<std::vector<uint8_t>> GgufWriter::Serialize() const {
  auto error = [](std::string message) {
    return Fail(ErrorCode::kInvalidArgument, GgufBytePlace("<gguf writer>", 0), std::move(message));
  };
  if (version_ != 2 && version_ != 3) return error("version " + std::to_string(version_) + " is not 2 or 3");
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) {
    return error("alignment " + std::to_string(alignment_) + " is not a power of two");
  }

  std::vector<GgufMetadataEntry> metadata;
  std::unordered_set<std::string> keys;
  for (const GgufMetadataEntry& e : metadata_) {
    if (e.key == "general.alignment") continue;  // written from alignment_ below
    if (!keys.insert(e.key).second) return error("duplicate metadata key '" + e.key + "'");
    metadata.push_back(e);
  }
  if (alignment_ != 32) metadata.push_back({"general.alignment", GgufValue::U32(alignment_)});

  // Offsets first: each tensor at the next aligned offset in the data section.
  std::vector<uint64_t> offsets;
  uint64_t data_size = 0;
  std::unordered_set<std::string> names;
  for (const PendingTensor& t : tensors_) {
    const std::optional<GgmlTypeTraits> traits = GgmlTypeInfo(t.type);
    if (!traits) return error("tensor '" + t.name + "': no ggml type (FP8?) or unknown type " + std::to_string(t.type));
    if (!names.insert(t.name).second) return error("duplicate tensor name '" + t.name + "'");
    if (t.dims.empty() || t.dims.size() > 4) return error("tensor '" + t.name + "': needs 1 to 4 dimensions");
    uint64_t elements = 1;
    for (uint64_t d : t.dims) {
      if (__builtin_mul_overflow(elements, d, &elements)) return error("tensor '" + t.name + "': size overflows");
    }
    if (t.dims[0] % traits->block_size != 0 ||
        elements / traits->block_size * traits->type_size != t.bytes.size()) {
      return error("tensor '" + t.name + "': " + std::to_string(t.bytes.size()) +
                   " bytes do not match its type and shape");
    }
    data_size += (alignment_ - data_size % alignment_) % alignment_;
    offsets.push_back(data_size);
    data_size += t.bytes.size();
  }

  std::vector<uint8_t> out;
  ByteWriter w(&out);
  out.insert(out.end(), {'G', 'G', 'U', 'F'});
  w.Scalar<uint32_t>(version_);
  w.Scalar<uint64_t>(tensors_.size());
  w.Scalar<uint64_t>(metadata.size());
  for (const GgufMetadataEntry& e : metadata) {
    w.String(e.key);
    w.Scalar<uint32_t>(static_cast<uint32_t>(e.value.type));
    if (!WriteValue(e.value, &w)) return error("metadata key '" + e.key + "': value does not match its type");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    w.String(t.name);
    w.Scalar<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) w.Scalar<uint64_t>(d);
    w.Scalar<uint32_t>(t.type);
    w.Scalar<uint64_t>(offsets[i]);
  }
  w.PadTo(alignment_);
  const size_t data_start = out.size();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    out.resize(data_start + offsets[i], 0);
    out.insert(out.end(), tensors_[i].bytes.begin(), tensors_[i].bytes.end());
  }
  return out;
}

Expected<uint64_t> GgufWriter::WriteFile(const std::string& path) const {
  Expected<std::vector<uint8_t>> bytes = Serialize();
  if (!bytes.ok()) {
    Error e = bytes.error();
    e.place.file = path;
    return Fail(std::move(e));
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return Fail(ErrorCode::kUnreadable, GgufBytePlace(path, 0),
                "cannot create: " + std::string(std::strerror(errno)));
  }
  const size_t written = std::fwrite(bytes->data(), 1, bytes->size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != bytes->size() || !closed) {
    return Fail(ErrorCode::kUnreadable, GgufBytePlace(path, written),
                "write failed: " + std::string(std::strerror(errno)));
  }
  return static_cast<uint64_t>(bytes->size());
}

}  // namespace kpolicy::kernels
