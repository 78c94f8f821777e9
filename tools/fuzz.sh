#!/usr/bin/env bash
# Runs a fuzz target of tests/fuzz/ with libFuzzer for SECONDS:
#
#   tools/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]   # e.g. tools/fuzz.sh fuzz_gguf 1800
#   tools/fuzz.sh all SECONDS                          # every target, one after another
#   tools/fuzz.sh --list                               # the targets
#
# In the hardening build (build-hardening/: clang, ASan + UBSan, libFuzzer;
# configured and built here when needed, clang installed with tools/setup.sh
# when missing). The corpus grows in build-hardening/fuzz/corpus/TARGET,
# starting from the target's seeds (listed by tests/fuzz/CMakeLists.txt)
# and every input a fuzzer found before (tests/fuzz/regressions/TARGET).
# A finding is written to build-hardening/fuzz/findings/TARGET/ and the
# script exits 1: add the input to tests/fuzz/regressions/TARGET/ (a ctest
# replays it) with the fix and a unit test of the behaviour.
#
# Each run is bounded: 60 s per input (-timeout: wall time, and runs share
# 2 cores with each other and with builds, where an input can wait many
# seconds for a CPU: at 30 s two seed files that replay in 0.05-0.15 s were
# reported as timeouts; the hangs this is for ran forever, and the unit
# tests hold each limit to a second), 2 GiB (-rss_limit_mb), and
# inputs of at most 64 KiB (-max_len; a policy is a few KiB, the GGUF seeds
# under 16 KiB). Output keeps libFuzzer's periodic and final lines, not
# every new corpus entry, so a 30-minute log stays small.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(fuzz_policy fuzz_expression fuzz_batch_line fuzz_parity_record fuzz_contracts fuzz_gguf)
build=build-hardening

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
target=$1
seconds=$2
shift 2
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do "$0" "$t" "$seconds" "$@"; done
  exit 0
fi
if ! printf '%s\n' "${targets[@]}" | grep -qx -- "$target"; then
  echo "fuzz.sh: unknown target '$target' (tools/fuzz.sh --list)" >&2
  exit 2
fi

tools/hardening.sh --configure-only
cmake --build "$build" -j"$(nproc)" --target "$target" fuzz_gguf_seeds
corpus=$build/fuzz/corpus/$target
findings=$build/fuzz/findings/$target
mkdir -p "$corpus" "$findings"
# The GGUF seeds are written by a program, not kept in the repository.
[ "$target" = fuzz_gguf ] && "$build/tests/fuzz/fuzz_gguf_seeds" "$build/tests/fuzz/seeds/gguf"
# Seeds: copied in under their content's hash, as libFuzzer names its own.
while read -r seed; do
  find "$seed" -type f | while read -r f; do
    cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-40)"
  done
done < "$build/tests/fuzz/$target.seeds"
inputs=("$corpus")
[ -d "tests/fuzz/regressions/$target" ] && inputs+=("tests/fuzz/regressions/$target")

echo "fuzz.sh: $target for ${seconds}s, $(git rev-parse --short=12 HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(clang++ --version | head -1)"
set +e
"$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$findings/" "$@" "${inputs[@]}" 2>&1 |
  grep --line-buffered -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE) |^[[:space:]]+NEW_FUNC'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: $target found something (exit $status): $findings/" >&2
  exit 1
fi
echo "fuzz.sh: $target: no finding in ${seconds}s"
