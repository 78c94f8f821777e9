// Input files: the files kpolicy reads because a person named them (a
// policy, its `extends:` base, a batch file, an inventory, a contract, a
// record, a model). Only regular files are read. A FIFO blocks its reader
// until a writer comes, /dev/zero never ends, a directory has no text: each
// is refused before it is read, with an error saying what the path is.
//
// Header-only (POSIX) so every library can use it, the kernels' GGUF reader
// included. Thread-safety: functions of the file system's state.
#ifndef KPOLICY_INPUT_FILE_H_
#define KPOLICY_INPUT_FILE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "kpolicy/expected.h"

namespace kpolicy {

// "a directory", "a FIFO", "a character device", ...: what a stat() mode is.
inline const char* FileKindName(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// "file is N bytes; the limit is L": how every reader refuses a file over
// its size limit.
inline std::string FileTooLarge(uint64_t size, uint64_t limit) {
  return "file is " + std::to_string(size) + " bytes; the limit is " + std::to_string(limit);
}

// Succeeds when `path` names a regular file (or a link to one); else an
// Error (kUnreadable) whose message says what it is instead: "is a FIFO,
// not a regular file". Calls stat() only, which never blocks.
inline Status CheckRegularFile(const std::string& path) {
  if (path.empty()) return Fail(ErrorCode::kUnreadable, "an empty path names no file");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(ErrorCode::kUnreadable, std::string("cannot open: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kUnreadable, std::string("is ") + FileKindName(st.st_mode) + ", not a regular file");
  }
  return {};
}

// The whole text of the regular file at `path`. A file larger than
// `limit` bytes is an Error (kInvalidInput) "file is N bytes; the limit is
// L" naming its real size; anything that cannot be read, a special file
// included, is kUnreadable. The file is opened without blocking and checked
// again once open, so a path swapped for a FIFO in between is refused too.
inline Expected<std::string> ReadInputFile(const std::string& path, size_t limit) {
  if (Status regular = CheckRegularFile(path); !regular.ok()) return Fail(std::move(regular).error());
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Fail(ErrorCode::kUnreadable, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kUnreadable, std::string("is ") + FileKindName(st.st_mode) + ", not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > limit) {
    return Fail(ErrorCode::kInvalidInput, FileTooLarge(static_cast<uint64_t>(st.st_size), limit));
  }
  // Read to the end, at most one byte past the limit: a file that grows
  // after fstat() is still bounded.
  std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t used = 0;
  while (true) {
    if (used == text.size()) {
      if (text.size() > limit) {
        return Fail(ErrorCode::kInvalidInput, "file grew past the limit of " + std::to_string(limit) +
                                                  " bytes while it was read");
      }
      text.resize(std::min(limit + 1, text.size() * 2));
    }
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kUnreadable, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  text.resize(used);
  return text;
}

}  // namespace kpolicy

#endif  // KPOLICY_INPUT_FILE_H_
