// Fuzz target: parity record text. A record that loads must survive a round
// trip (FormatParityRecord's text loads again to the same facts and rows)
// and be checkable: the default policy against the repository's contracts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy_loader.h"

namespace {

// Equal as the record writer can keep them: NaN equals NaN, and numbers
// survive to FormatNumber's six significant digits.
bool SameNumbers(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, x] : a) {
    auto it = b.find(key);
    if (it == b.end()) return false;
    const double y = it->second;
    if (std::isnan(x) || std::isnan(y)) {
      if (std::isnan(x) != std::isnan(y)) return false;
    } else if (std::fabs(x - y) > 1e-5 * std::fabs(x)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kpolicy;
  static const Policy policy = std::move(LoadPolicyText(BuiltinDefaultPolicyText(), "builtin:default")).value();
  static const std::vector<Contract> contracts =
      std::move(LoadContractDirectory(KPOLICY_SOURCE_DIR "/contracts")).value();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = ParseParityRecord(text, "fuzz.yaml");
  if (!record.ok()) {
    (void)record.error().ToString();
    return 0;
  }
  const std::string written = FormatParityRecord(*record);
  auto again = ParseParityRecord(written, "fuzz.yaml");
  if (!again.ok()) {
    std::fprintf(stderr, "a loaded record's own text does not load:\n%s\n%s\n", written.c_str(),
                 again.error().ToString().c_str());
    std::abort();
  }
  if (again->device.num_sms != record->device.num_sms || again->device.cc() != record->device.cc() ||
      again->results.size() != record->results.size()) {
    std::abort();
  }
  for (size_t i = 0; i < record->results.size(); ++i) {
    if (!SameNumbers(record->results[i].metrics, again->results[i].metrics)) std::abort();
  }
  const CheckReport report = CheckContracts(policy, contracts, {*record});
  for (const CheckFinding& f : report.findings) (void)f.ToString();
  return 0;
}
