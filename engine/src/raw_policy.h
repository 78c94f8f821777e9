// RawPolicy: a policy as written, before compiling: every string with the
// place it came from. The schema reader (policy_schema.h) fills it from one
// file's YAML tree, the overlay merge (policy_overlay.h) combines a file with
// its `extends:` base, and the compiler (policy_compile.h) turns the result
// into a Policy. Internal to the engine.
//
// Thread-safety: value types.
#ifndef KPOLICY_ENGINE_RAW_POLICY_H_
#define KPOLICY_ENGINE_RAW_POLICY_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kpolicy/error.h"
#include "kpolicy/value.h"

namespace kpolicy {

struct RawExpr {
  std::string text;
  SourceLocation where;                     // of the scalar
  std::vector<std::pair<int, int>> positions;  // line, column of each character
  bool present = false;
  bool refused = false;  // present but refused when read (too long): reported already
};

struct RawRule {
  std::string id;
  RawExpr when, value;
  std::string why;
  std::vector<std::string> refs;
  std::vector<std::string> evidence;  // contract ids records must prove
  std::string before, after;  // overlays: where a new rule goes
  SourceLocation where;
};

struct RawEnv {
  std::string var;
  bool on_presence = true;  // `when: set` or no `when`
  RawExpr when, value;
  std::string why;
  SourceLocation where;
};

struct RawConstraint {
  RawExpr condition;
  std::string on_fail;  // "fallback-and-warn" or "stop" (the default)
  std::string message;
  SourceLocation where;
};

struct RawKnob {
  std::string name;
  SourceLocation where;
  std::optional<Type> type;
  SourceLocation type_where;
  std::optional<std::string> doc;
  std::optional<std::vector<RawEnv>> env;
  std::vector<RawRule> rules;
  RawExpr default_value;
  std::string default_why;               // default: {value, why, refs}
  std::vector<std::string> default_refs;
  std::optional<std::vector<RawConstraint>> constraints;  // requires:
  RawExpr fallback;  // the value the runtime's parity gate falls back to
  std::vector<std::pair<std::string, SourceLocation>> remove_rules;
  std::set<std::string> misspelt;  // keys reported as misspelt: not missing too
};

struct RawFact {
  std::string name;
  RawExpr expr;
  SourceLocation where;
};

struct RawPolicy {
  std::string file;
  std::string name, version, description;
  std::string extends;
  SourceLocation extends_where;
  std::string on_gate_failure;  // "fallback" (default) or "fatal"
  SourceLocation on_gate_failure_where;
  std::vector<RawFact> facts;
  std::vector<RawKnob> knobs;
  std::vector<std::string> bases;
};

// A name that expressions can spell: a letter or '_', then letters, digits
// and '_'. Facts, knobs, enum members and environment variables are names.
bool IsIdentifier(std::string_view s);

// "line 8": where a first occurrence was, in messages about a second one.
inline std::string LineOf(const SourceLocation& loc) { return "line " + std::to_string(loc.line); }

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_RAW_POLICY_H_
