// The seed's GpuProfile::detect (aprender-serve 0.50.0), transcribed from
// DESIGN.md's table into plain C++ as an independent oracle for the default
// policy. It shares no code with the engine: it reads the environment from a
// map and decides with ifs, as the seed does.
#ifndef KPOLICY_TESTS_SEED_ORACLE_H_
#define KPOLICY_TESTS_SEED_ORACLE_H_

#include <map>
#include <string>

namespace kpolicy::testing {

// Knob name -> value as policyctl prints it ("HwDp4a", "3", "true", "sm_90").
std::map<std::string, std::string> SeedDecide(int cc_major, int cc_minor,
                                              const std::map<std::string, std::string>& env);

}  // namespace kpolicy::testing

#endif  // KPOLICY_TESTS_SEED_ORACLE_H_
