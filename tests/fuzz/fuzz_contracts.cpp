// Fuzz target: contract file text. Contracts that load are checked with the
// default policy against the repository's parity records.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kpolicy/builtin_policy.h"
#include "kpolicy/contract.h"
#include "kpolicy/contract_check.h"
#include "kpolicy/parity_record.h"
#include "kpolicy/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kpolicy;
  static const Policy policy = std::move(LoadPolicyText(BuiltinDefaultPolicyText(), "builtin:default")).value();
  static const std::vector<ParityRecord> records =
      std::move(LoadParityRecordDirectory(KPOLICY_SOURCE_DIR "/contracts/parity")).value();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto contracts = ParseContracts(text, "fuzz.yaml");
  if (!contracts.ok()) {
    (void)contracts.error().ToString();
    return 0;
  }
  const CheckReport report = CheckContracts(policy, *contracts, records);
  for (const CheckFinding& f : report.findings) (void)f.ToString();
  return 0;
}
