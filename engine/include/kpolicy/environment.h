// Environment: the variables a decision sees. Either a snapshot of this
// process's environment or an explicit list (policyctl --env, batch lines,
// tests), so evaluation never calls getenv and gives the same answer for the
// same inputs on every host. The evaluator reads only the variables the
// policy declares; the full list is kept so explain can spot misspellings.
// Set and Find cost O(1) on average (a hash index), so an environment of
// 100,000 variables is read in linear time.
//
// Thread-safety: value type.
#ifndef KPOLICY_ENVIRONMENT_H_
#define KPOLICY_ENVIRONMENT_H_

#include <string>
#include <string_view>
#include <unordered_map>
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
  size_t size() const { return vars_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in vars_
};

}  // namespace kpolicy

#endif  // KPOLICY_ENVIRONMENT_H_
