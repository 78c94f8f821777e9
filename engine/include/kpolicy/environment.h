// Environment: the variables a decision sees. Either a snapshot of this
// process's environment or an explicit list (policyctl --env, batch lines,
// tests), so evaluation never calls getenv and gives the same answer for the
// same inputs on every host. The evaluator reads only the variables the
// policy declares; the full list is kept so explain can spot misspellings.
//
// Thread-safety: value type.
#ifndef KPOLICY_ENVIRONMENT_H_
#define KPOLICY_ENVIRONMENT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kpolicy {

class Environment {
 public:
  Environment() = default;

  // A copy of this process's environment at the time of the call.
  static Environment FromProcess();

  // Sets or replaces one variable.
  void Set(std::string_view name, std::string_view value);
  // The variable's value, or nullptr when it is not set.
  const std::string* Find(std::string_view name) const;

  // Every variable, in the order first set.
  const std::vector<std::pair<std::string, std::string>>& variables() const { return vars_; }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

}  // namespace kpolicy

#endif  // KPOLICY_ENVIRONMENT_H_
