// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits: the
// digest of the policy text in the runtime's effective configuration, so an
// operator can tell which exact file a process runs.
//
// Thread-safety: a pure function. Cost: O(size), about 200 MB/s on one core.
#ifndef KPOLICY_RUNTIME_SHA256_H_
#define KPOLICY_RUNTIME_SHA256_H_

#include <string>
#include <string_view>

namespace kpolicy::runtime {

std::string Sha256Hex(std::string_view bytes);

}  // namespace kpolicy::runtime

#endif  // KPOLICY_RUNTIME_SHA256_H_
