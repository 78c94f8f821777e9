#include "kpolicy/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace kpolicy {

void Diagnostics::Error(SourceLocation where, std::string message) {
  items_.push_back({Severity::kError, std::move(where), std::move(message)});
  ++error_count_;
}

void Diagnostics::Warning(SourceLocation where, std::string message) {
  items_.push_back({Severity::kWarning, std::move(where), std::move(message)});
}

void Diagnostics::Note(SourceLocation where, std::string message) {
  items_.push_back({Severity::kNote, std::move(where), std::move(message)});
}

void Diagnostics::Append(const Diagnostics& other) {
  for (const Diagnostic& d : other.items_) items_.push_back(d);
  error_count_ += other.error_count_;
}

void Diagnostics::SortByLocation() {
  std::vector<std::string> files;
  auto rank = [&](const std::string& file) {
    auto it = std::find(files.begin(), files.end(), file);
    return static_cast<int>(it - files.begin());
  };
  for (const Diagnostic& d : items_) {
    if (std::find(files.begin(), files.end(), d.location.file) == files.end()) files.push_back(d.location.file);
  }
  std::stable_sort(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(rank(a.location.file), a.location.line, a.location.column) <
           std::tuple(rank(b.location.file), b.location.line, b.location.column);
  });
}

void Diagnostics::Truncate(int max_errors) {
  if (error_count_ <= max_errors) return;
  int errors = 0;
  size_t keep = 0;
  while (keep < items_.size() && !(items_[keep].severity == Severity::kError && errors == max_errors)) {
    errors += items_[keep].severity == Severity::kError;
    ++keep;
  }
  const int dropped = error_count_ - max_errors;
  items_.resize(keep);
  error_count_ = max_errors;
  SourceLocation where = items_.empty() ? SourceLocation{} : SourceLocation{items_.back().location.file, 0, 0};
  items_.push_back({Severity::kNote, where,
                    std::to_string(dropped) + " more error" + (dropped == 1 ? "" : "s") + " not shown"});
}

std::string Diagnostics::ToString() const {
  std::string out;
  for (const Diagnostic& d : items_) out += d.ToString() + "\n";
  return out;
}

kpolicy::Error Diagnostics::ToError(ErrorCode code) const {
  kpolicy::Error error(code, "");
  error.findings = items_;
  for (const Diagnostic& d : items_) {
    if (d.severity != Severity::kError) continue;
    error.place = d.location;
    error.message = d.message;
    break;
  }
  return error;
}

}  // namespace kpolicy
