// Error: the one error value of kpolicy. Every fallible function at a module
// border returns Expected<T> (expected.h) over it: the policy loader, the
// evaluator, the GGUF reader, the CUDA kernels' launch functions, the runtime's
// startup. An Error says what kind of failure it is (a code callers branch
// on, e.g. to pick policyctl's exit status), what went wrong (a message for
// people), and where, when the failure belongs to a place in a file (a
// policy's line and column, a GGUF file's byte offset, a CUDA call's source
// line). An error that stands for several findings at once (a policy that
// fails validation in three places) keeps them all in `findings`.
//
// Text made for people (ToString) is printable (printable.h): names and
// values from hostile files cannot drive the terminal it is shown on.
//
// Header-only and dependency-free so that every library, the CUDA kernels
// included, can return it. Thread-safety: value types.
#ifndef KPOLICY_ERROR_H_
#define KPOLICY_ERROR_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kpolicy/printable.h"

namespace kpolicy {

// A place in a source file; line and column count from 1, 0 means unknown.
// For binary files (GGUF) `offset` is the byte offset and line is 0.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  int64_t offset = -1;  // byte offset in a binary file; -1 when not a byte place

  bool known() const { return !file.empty(); }

  // "FILE:LINE:COL", "FILE: byte N", or fewer parts where they are unknown.
  std::string ToString() const {
    std::string out = file.empty() ? "<input>" : file;
    if (line > 0) {
      out += ":" + std::to_string(line);
      if (column > 0) out += ":" + std::to_string(column);
    } else if (offset >= 0) {
      out += ": byte " + std::to_string(offset);
    }
    return out;
  }
};

enum class Severity { kError, kWarning, kNote };

inline const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kNote: return "note";
  }
  return "error";
}

// One finding about an input (error, warning or note) at a place.
struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLocation location;
  std::string message;

  // "FILE:LINE:COL: error: MESSAGE", printable.
  std::string ToString() const {
    return PrintableText(location.ToString() + ": " + SeverityName(severity) + ": " + message);
  }
};

enum class ErrorCode {
  kInvalidArgument,  // the caller's request is wrong: a flag, a shape, a pointer
  kInvalidInput,     // a file or document's content is wrong (policy, record, GGUF, JSON)
  kUnreadable,       // an input could not be read at all (missing, a directory, permissions)
  kNotFound,         // a named thing does not exist (a knob, a tensor, a catalog device)
  kUnsupported,      // this build or this device cannot do it (no CUDA, sm too old)
  kDevice,           // a CUDA, cuBLAS or cuBLASLt call failed
  kCheckFailed,      // a check answered no: the parity gate, a model-level comparison
  kInternal,         // a broken invariant of kpolicy itself
};

inline const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kInvalidInput: return "invalid input";
    case ErrorCode::kUnreadable: return "unreadable";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kDevice: return "device error";
    case ErrorCode::kCheckFailed: return "check failed";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  SourceLocation place;               // place.known() == false: the error has no place
  std::vector<Diagnostic> findings;   // every finding when the error stands for several

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
  Error(ErrorCode c, SourceLocation where, std::string m)
      : code(c), message(std::move(m)), place(std::move(where)) {}

  // Each finding on its own line when there are findings; else
  // "PLACE: error: MESSAGE", or MESSAGE alone without a place; printable.
  std::string ToString() const {
    if (!findings.empty()) {
      std::string out;
      for (const Diagnostic& d : findings) out += (out.empty() ? "" : "\n") + d.ToString();
      return out;
    }
    if (!place.known()) return PrintableText(message);
    return PrintableText(place.ToString() + ": error: " + message);
  }
};

}  // namespace kpolicy

#endif  // KPOLICY_ERROR_H_
