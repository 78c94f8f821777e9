// MapSymbols: a SymbolTable over names added one by one, each given the
// next slot, for tests and fuzz targets that compile expressions without a
// policy. Test-only; header-only.
#ifndef KPOLICY_TESTS_ENGINE_MAP_SYMBOLS_H_
#define KPOLICY_TESTS_ENGINE_MAP_SYMBOLS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expression.h"

namespace kpolicy {

class MapSymbols : public SymbolTable {
 public:
  std::optional<Symbol> Find(std::string_view name) const override {
    auto it = slots_.find(std::string(name));
    if (it == slots_.end()) return std::nullopt;
    return Symbol{it->second, &types_[it->second]};
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> out;
    for (const auto& [name, slot] : slots_) out.push_back(name);
    return out;
  }
  int SlotOf(const std::string& name) const { return slots_.at(name); }
  const Type& TypeOf(int slot) const { return types_[slot]; }

 protected:
  // Gives `name` the next slot; returns it.
  int Add(const std::string& name, Type type) {
    slots_[name] = static_cast<int>(types_.size());
    types_.push_back(std::move(type));
    return slots_[name];
  }

 private:
  std::map<std::string, int> slots_;
  std::vector<Type> types_;
};

}  // namespace kpolicy

#endif  // KPOLICY_TESTS_ENGINE_MAP_SYMBOLS_H_
