#include "kpolicy/runtime/evidence_source.h"

#include <filesystem>

namespace kpolicy::runtime {

std::string EvidenceSource::Describe() const {
  switch (kind) {
    case kExplicit: return "explicit path " + path;
    case kEnvironment: return std::string(kContractsVariable) + "=" + path;
    case kSystem: return path;
    case kNone:
      return std::string("none (no contracts folder configured: no explicit path, ") + kContractsVariable +
             " unset, no " + (path.empty() ? std::string(kSystemContractsPath) : path) + ")";
  }
  return path;
}

Expected<ResolvedEvidence> ResolveEvidence(const EvidenceOptions& options, const Environment& env,
                                           const Policy& policy) {
  ResolvedEvidence out;
  EvidenceSource& source = out.source;
  if (!options.explicit_path.empty()) {
    source = {EvidenceSource::kExplicit, options.explicit_path};
  } else if (const std::string* from_env = env.Find(kContractsVariable); from_env && !from_env->empty()) {
    source = {EvidenceSource::kEnvironment, *from_env};
  } else if (!options.system_path.empty()) {
    // Absent is "not configured"; a path that cannot even be inspected is
    // not taken for absent (fail closed).
    std::error_code ec;
    const auto status = std::filesystem::status(options.system_path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      source = {EvidenceSource::kNone, options.system_path};
      return out;
    }
    if (ec) {
      return Fail(ErrorCode::kUnreadable, SourceLocation{options.system_path},
                  "cannot inspect the system contracts folder: " + ec.message());
    }
    source = {EvidenceSource::kSystem, options.system_path};
  } else {
    return out;
  }
  auto set = LoadEvidenceSet(source.path, (std::filesystem::path(source.path) / "parity").string());
  if (!set.ok()) {
    return Fail(set.error().code, "contracts from " + source.Describe() + " do not load:\n" + set.error().ToString());
  }
  const Diagnostics unknown = CheckEvidenceRules(policy, set->contracts);
  if (unknown.has_errors()) {
    return Fail(ErrorCode::kInvalidInput, "policy " + policy.name + " asks for evidence that the contracts from " +
                                              source.Describe() + " cannot give:\n" +
                                              unknown.ToError(ErrorCode::kInvalidInput).ToString());
  }
  out.set = std::make_unique<const EvidenceSet>(std::move(set).value());
  out.oracle = std::make_unique<const RecordEvidence>(out.set->contracts, out.set->records);
  return out;
}

}  // namespace kpolicy::runtime
