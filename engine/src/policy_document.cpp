#include "policy_document.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "kpolicy/builtin_policy.h"
#include "policy_overlay.h"
#include "policy_schema.h"
#include "yaml_document.h"

namespace kpolicy {

namespace {

// The path `extends` names, relative to the folder of `file`.
std::string ResolveBase(const std::string& file, const std::string& extends) {
  if (BuiltinPolicyText(extends)) return extends;
  std::filesystem::path p(extends);
  if (p.is_relative() && !BuiltinPolicyText(file)) {
    p = std::filesystem::path(file).parent_path() / p;
  }
  return p.lexically_normal().string();
}

class DocumentChain {
 public:
  DocumentChain(const LoadLimits& limits, Diagnostics& diagnostics) : limits_(limits), diagnostics_(diagnostics) {}

  // Reads and merges `text` and its bases; `chain` holds the files read so
  // far, the first one outermost.
  std::optional<RawPolicy> Read(std::string_view text, const std::string& file, int depth,
                                std::vector<std::string>& chain) {
    PolicySchemaReader reader(file, limits_, diagnostics_);
    std::optional<YAML::Node> root = reader.Parse(text);
    if (!root) return std::nullopt;
    std::optional<RawPolicy> raw = reader.Read(*root);
    if (!raw || raw->extends.empty()) return raw;

    const std::string base_file = ResolveBase(file, raw->extends);
    if (std::find(chain.begin(), chain.end(), base_file) != chain.end()) {
      diagnostics_.Error(raw->extends_where, "extends: '" + raw->extends + "' leads back to " +
                                                 base_file + ": a cycle");
      return std::nullopt;
    }
    if (depth >= limits_.max_extends) {
      diagnostics_.Error(raw->extends_where, "extends: chain longer than " +
                                                 std::to_string(limits_.max_extends) + " files");
      return std::nullopt;
    }
    std::string base_text;
    if (auto builtin = BuiltinPolicyText(base_file)) {
      base_text = std::string(*builtin);
    } else {
      auto read = ReadInputFile(base_file, limits_.max_file_bytes);
      if (!read.ok()) {
        const bool too_large = read.error().code == ErrorCode::kInvalidInput;
        diagnostics_.Error(raw->extends_where, "extends: " + std::string(too_large ? "" : "cannot read ") + "'" +
                                                   base_file + "': " + read.error().message);
        base_unreadable_ |= !too_large;
        return std::nullopt;
      }
      base_text = std::move(read).value();
    }
    chain.push_back(base_file);
    std::optional<RawPolicy> base = Read(base_text, base_file, depth + 1, chain);
    if (!base) return std::nullopt;
    return MergeOverlay(std::move(*base), std::move(*raw), diagnostics_);
  }

  bool base_unreadable() const { return base_unreadable_; }

 private:
  const LoadLimits& limits_;
  Diagnostics& diagnostics_;
  bool base_unreadable_ = false;
};

}  // namespace

PolicyDocuments ReadPolicyDocuments(std::string_view text, const std::string& file, const LoadLimits& limits,
                                    Diagnostics& diagnostics) {
  std::vector<std::string> chain{file};
  DocumentChain documents(limits, diagnostics);
  PolicyDocuments out;
  out.policy = documents.Read(text, file, 0, chain);
  out.base_unreadable = documents.base_unreadable();
  return out;
}

}  // namespace kpolicy
