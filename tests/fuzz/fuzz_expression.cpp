// Fuzz target: one expression of the policy language, compiled against a
// fixed symbol table (every type: bool, int, int 1..32, string, enum,
// version) with the expected type chosen by the first byte, then evaluated
// over fixed values, extremes included. Compile errors and evaluation
// failures are answers; crashes, UB and hangs are findings.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kpolicy/expression.h"
#include "map_symbols.h"

namespace {

using namespace kpolicy;

class FuzzSymbols : public MapSymbols {
 public:
  FuzzSymbols() {
    Type warps = Type::Int();
    warps.min = 1;
    warps.max = 32;
    Add("flag", Type::Bool(), Value::Bool(true));
    Add("n", Type::Int(), Value::Int(7));
    Add("big", Type::Int(), Value::Int(std::numeric_limits<int64_t>::max()));
    Add("small", Type::Int(), Value::Int(std::numeric_limits<int64_t>::min()));
    Add("warps", warps, Value::Int(8));
    Add("s", Type::String(), Value::String("12.1"));
    Add("variant", Type{TypeKind::kEnum, {"Legacy", "Mwv", "HwDp4a"}}, Value::Enum(1));
    Add("device.driver", Type::Version(), Value::String("580.159.04"));
  }
  const std::vector<Value>& values() const { return values_; }

 private:
  void Add(const std::string& name, Type type, Value value) {
    MapSymbols::Add(name, std::move(type));
    values_.push_back(std::move(value));
  }
  std::vector<Value> values_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FuzzSymbols symbols;
  if (size == 0) return 0;
  // First byte: the expected type (none, or one of the symbols' types).
  const int choice = data[0] % 9;
  const Type* expected = choice == 8 ? nullptr : &symbols.TypeOf(choice);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto compiled = Expression::Compile(text, SourceLocation{"fuzz.yaml", 1, 1}, symbols, expected);
  if (!compiled.ok()) {
    (void)compiled.error().ToString();
    return 0;
  }
  auto value = compiled->Evaluate(symbols.values());
  if (value.ok()) (void)FormatValue(compiled->type(), *value);
  else (void)value.error().ToString();
  (void)compiled->ComparedLiterals();
  return 0;
}
