#!/usr/bin/env bash
# The hardening run, which CI adds to the test suite (tools/test.sh runs it
# after the main build's tests):
#
#   tools/hardening.sh [FUZZ_SECONDS]   # default 20
#   tools/hardening.sh --configure-only # install clang if needed and configure (tools/fuzz.sh)
#
# A CPU-only build in build-hardening/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (float-cast-overflow included, every finding
# fatal) and libFuzzer's instrumentation; the CPU test suite run in it
# (every label but `model`, below);
# then each fuzz target of tests/fuzz/ for FUZZ_SECONDS from its seeds
# (tools/fuzz.sh). clang and its sanitizer runtimes are installed with
# tools/setup.sh where missing: the default build does not need them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-hardening

if ! command -v clang++ >/dev/null; then
  tools/setup.sh clang
fi
major=$(clang++ -dumpversion | cut -d. -f1)
if ! ls "$(clang++ -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  tools/setup.sh clang "libclang-rt-$major-dev"
fi
# -O2 without NDEBUG: the sanitizers at a speed the model tests can afford,
# with every assert() checked too.
if [ ! -f "$build/CMakeCache.txt" ]; then
  CXX=clang++ CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 \
    -DKPOLICY_CUDA=OFF -DKPOLICY_SANITIZE=ON -DKPOLICY_FUZZ=ON >/dev/null
fi
[ "${1:-}" = "--configure-only" ] && exit 0
cmake --build "$build" -j"$(nproc)"

# halt_on_error: an ASan report fails the test that caused it; UBSan's are
# fatal by -fno-sanitize-recover (CMakeLists.txt).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Every label but `model`: the real-model tests run the fp64 reference
# through whole models (model_real_test 50 s, model_parity_real_test 90 s
# in Release), which ASan slows past ten times (both over 7 CPU minutes and
# unfinished on the development machine). Their code runs sanitized here on
# the synthetic models of the unit tests and under fuzz_gguf; the Release
# suite (tools/test.sh) runs them on the real files.
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE model
tools/fuzz.sh all "${1:-20}"
