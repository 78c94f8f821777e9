#include "kpolicy/environment.h"

extern char** environ;

namespace kpolicy {

Environment Environment::FromProcess() {
  Environment env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.Set(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

void Environment::Set(std::string_view name, std::string_view value) {
  auto [it, fresh] = index_.emplace(std::string(name), vars_.size());
  if (!fresh) {
    vars_[it->second].second = std::string(value);
    return;
  }
  vars_.emplace_back(std::string(name), std::string(value));
}

const std::string* Environment::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &vars_[it->second].second;
}

}  // namespace kpolicy
