// Diagnostic: one finding about a policy file (error or warning) with the
// place it refers to, printed as `FILE:LINE:COL: error: MESSAGE` as compilers
// do, so editors and CI logs can jump to it. Diagnostics is an ordered list
// that loaders fill so a single run reports every problem it can find.
//
// Thread-safety: value types.
#ifndef KPOLICY_DIAGNOSTIC_H_
#define KPOLICY_DIAGNOSTIC_H_

#include <string>
#include <vector>

#include "kpolicy/expected.h"

namespace kpolicy {

class Diagnostics {
 public:
  void Error(SourceLocation where, std::string message);
  void Warning(SourceLocation where, std::string message);
  void Note(SourceLocation where, std::string message);
  void Append(const Diagnostics& other);
  // Orders by place: files in the order they first appear, then line and
  // column; diagnostics at one place keep their order.
  void SortByLocation();
  // Keeps the first `max_errors` errors (and what precedes them) and notes
  // how many more there were.
  void Truncate(int max_errors);

  bool has_errors() const { return error_count_ > 0; }
  int error_count() const { return error_count_; }
  const std::vector<Diagnostic>& all() const { return items_; }
  bool empty() const { return items_.empty(); }

  // Every diagnostic on its own line.
  std::string ToString() const;

  // The Error that stands for these findings: `code`, every finding kept,
  // the first error's place and message. Precondition: has_errors().
  kpolicy::Error ToError(ErrorCode code) const;

 private:
  std::vector<Diagnostic> items_;
  int error_count_ = 0;
};

// The result of loading or checking something that reports to a file.
template <typename T>
using Checked = Expected<T, Diagnostics>;

}  // namespace kpolicy

#endif  // KPOLICY_DIAGNOSTIC_H_
