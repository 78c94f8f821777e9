// MappedFile: a large input file's bytes, mapped read-only instead of read.
// An inventory of 100,000 nodes is 218 MB of JSON: reading it copies every
// byte into a buffer that must first be zeroed, and then frees it; a mapping
// of the page cache does neither. Regular files only: a directory, a FIFO
// or a device is refused up front, never waited on or read without end.
//
// Thread-safety: a value owned by one thread; text() may be read from any.
#ifndef KPOLICY_ENGINE_MAPPED_FILE_H_
#define KPOLICY_ENGINE_MAPPED_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "kpolicy/expected.h"

namespace kpolicy {

class MappedFile {
 public:
  // Maps `path`; the error (kUnreadable) says why it could not be, naming
  // the limit for a file over `limit` bytes.
  static Expected<MappedFile> Open(const std::string& path, size_t limit);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view text() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}

  const char* data_ = nullptr;  // null for an empty file
  size_t size_ = 0;
};

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_MAPPED_FILE_H_
