// PolicySchemaReader: one policy file's YAML tree -> RawPolicy, checked
// against the policy format (policies/README.md): the keys each mapping may
// hold (unknown ones with "did you mean"), duplicates, the shapes of values
// (mapping, list, scalar), required fields and knob types, and the limits on
// counts and expression sizes (limits.h). Names and expressions are kept as
// written, with their places, for the compiler (policy_compile.h). Every problem goes to the YamlDocument's Diagnostics.
// Internal to the engine.
//
// Thread-safety: one instance per file read, used by one thread.
#ifndef KPOLICY_ENGINE_POLICY_SCHEMA_H_
#define KPOLICY_ENGINE_POLICY_SCHEMA_H_

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "raw_policy.h"
#include "yaml_document.h"

namespace kpolicy {

class PolicySchemaReader : public YamlDocument {
 public:
  using YamlDocument::YamlDocument;

  // The policy in `root` (as Parse returned it), or nullopt when it is not
  // a policy at all (not a mapping). A RawPolicy may come back together
  // with errors: the compiler then still reports what it finds in it.
  std::optional<RawPolicy> Read(const YAML::Node& root);

 private:
  RawExpr Expr(const YAML::Node& node, const std::string& what);
  void ReadFacts(const YAML::Node& facts, RawPolicy& p);
  void ReadKnobs(const YAML::Node& knobs, RawPolicy& p);
  void ReadKnob(const YAML::Node& body, RawKnob& k);
  std::optional<Type> ReadType(const YAML::Node& t, const std::string& knob);
  RawEnv ReadEnv(const YAML::Node& node, const std::string& knob);
  RawRule ReadRule(const YAML::Node& node, const std::string& knob);
  // `default:` as an expression or as {value, why, refs}.
  void ReadDefault(const YAML::Node& d, RawKnob& k);
  RawConstraint ReadConstraint(const YAML::Node& node, const std::string& knob);
  std::vector<std::string> Refs(const YAML::Node& refs);
  // Counts one more `what` against `limit` (limits.h); false, after
  // reporting at `node` the first time, once the count is past it.
  bool Count(size_t& count, size_t limit, const YAML::Node& node, const char* what);

  size_t facts_ = 0, knobs_ = 0, rules_ = 0, overrides_ = 0;
};

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_POLICY_SCHEMA_H_
