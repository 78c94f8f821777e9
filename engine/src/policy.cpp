#include "kpolicy/policy.h"

namespace kpolicy {

bool EnvOverride::presence_only() const {
  for (int slot : value.reads()) {
    if (slot == var_slot) return false;
  }
  return !has_condition;
}

const Knob* Policy::FindKnob(std::string_view knob_name) const {
  for (const Knob& k : knobs) {
    if (k.name == knob_name) return &k;
  }
  return nullptr;
}

std::vector<std::string> Policy::EnvironmentVariables() const {
  std::vector<std::string> out;
  for (int slot : env_slots) out.push_back(slots[slot].name);
  return out;
}

}  // namespace kpolicy
