// policyctl's exit statuses (fixed interface: scripts and CI rely on them).
#ifndef KPOLICY_TOOLS_EXIT_CODES_H_
#define KPOLICY_TOOLS_EXIT_CODES_H_

namespace kpolicy::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;     // the answer is "no": invalid policy, violated contract
inline constexpr int kExitUsage = 2;  // usage error or unreadable input

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_EXIT_CODES_H_
