// Time bounds in tests are stated for the Release build. The hardening
// build (KPOLICY_SANITIZE: ASan, UBSan, libFuzzer's coverage counters) runs
// the same work about twice as slowly (ASan's own documented figure is 2x;
// measured here: engine_malformed_policy_test's very long expression, 0.88 s
// Release, 1.78 s sanitized, on the same 2-core machine), so there a bound
// is multiplied by 3. Test-only; header-only.
#ifndef KPOLICY_TESTS_TIME_BUDGET_H_
#define KPOLICY_TESTS_TIME_BUDGET_H_

namespace kpolicy::testing {

#ifdef KPOLICY_SANITIZED
inline constexpr double kSlowdown = 3.0;
#else
inline constexpr double kSlowdown = 1.0;
#endif

// `release_seconds` as a bound for this build.
inline constexpr double TimeBudget(double release_seconds) { return release_seconds * kSlowdown; }

}  // namespace kpolicy::testing

#endif  // KPOLICY_TESTS_TIME_BUDGET_H_
