#!/usr/bin/env bash
# One session on a lent GPU machine: set up, build the GPU tests and
# bench_gemv for sm_90 only, run the tests (ctest -L gpu) and the benchmark,
# and leave everything under $OUT:
#   device.txt       nvidia-smi -q header (driver, GPU, clocks as found)
#   setup.log, configure.log, build.log
#   gpu_tests.log    ctest -L gpu --output-on-failure
#   bench_gemv.md    bench_gemv --out (YAML front matter + markdown tables)
#   bench_gemv.log   its stdout
#   sass_check.txt   16-byte loads and DP4A in the hot kernels' SASS (cuobjdump)
# A short summary table comes last on stdout. Budget: under 8 minutes
# (each step has its own timeout). Never changes the GPU's settings.
#
# Usage: tools/gpu_session.sh   (OUT defaults to ./gpu_out)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
BUILD=build-gpu
export PATH=/usr/local/cuda/bin:$PATH
start=$(date +%s)
declare -A status

step() {  # step NAME TIMEOUT_S LOGFILE CMD...
  local name=$1 limit=$2 log=$3
  shift 3
  echo "=== $name ($(($(date +%s) - start)) s elapsed)"
  timeout "$limit" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  status[$name]=$rc
  echo "=== $name: rc=$rc"
  return "$rc"
}

{
  nvidia-smi -q | head -40
  echo
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu --format=csv
} > "$OUT/device.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/device.txt"

# Boost.Test and yaml-cpp are needed by every target (the configure step
# finds them); if the mirrors are unreachable and they are missing, say so.
if ! step setup 240 "$OUT/setup.log" tools/setup.sh; then
  echo "setup FAILED: Debian packages (libboost-test-dev, libboost-program-options-dev," \
       "libyaml-cpp-dev, cmake) could not be installed; configure will fail if they are missing."
fi

step configure 120 "$OUT/configure.log" \
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90
gpu_tests=$(grep -ho 'kpolicy_add_test([a-z0-9_]*' tests/gpu/CMakeLists.txt | sed 's/kpolicy_add_test(//')
if [ "${status[configure]}" = 0 ]; then
  # shellcheck disable=SC2086
  step build 300 "$OUT/build.log" cmake --build "$BUILD" -j16 --target $gpu_tests bench_gemv
fi

if [ "${status[build]:-1}" = 0 ]; then
  step gpu_tests 150 "$OUT/gpu_tests.log" \
    ctest --test-dir "$BUILD" -L gpu --output-on-failure -j3 --timeout 140
  step bench 200 "$OUT/bench_gemv.log" "$BUILD/tools/bench/bench_gemv" --out "$OUT/bench_gemv.md"
  # SASS: the hot kernels should load 16 bytes at a time and use IDP.4A.
  lib="$BUILD/kernels/libkpolicy_kernels_cuda.a"
  if command -v cuobjdump > /dev/null; then
    {
      for obj in q4k_hw_dp4a q6k_hw_dp4a q4k_mwv_dp4a q6k_dp4a fused_gate_up_q4k q4k_vectorized; do
        sass=$(cuobjdump -sass "$BUILD/kernels/CMakeFiles/kpolicy_kernels_cuda.dir/cuda/$obj.cu.o")
        echo "== $obj: $(grep -cE 'LDG\.E[.A-Z]*128' <<< "$sass") 16-byte LDG," \
             "$(grep -c 'IDP.4A' <<< "$sass") IDP.4A, $(grep -cE 'LDL|STL' <<< "$sass") LDL/STL"
      done
      cuobjdump -res-usage "$lib" 2>&1 | grep -E 'Function|REG'
    } > "$OUT/sass_check.txt" 2>&1
  fi
fi

echo
echo "================ summary ($(($(date +%s) - start)) s) ================"
printf '%-12s %s\n' step rc
for s in setup configure build gpu_tests bench; do printf '%-12s %s\n' "$s" "${status[$s]:-skipped}"; done
head -3 "$OUT/device.txt" 2>/dev/null | tail -1
grep -E "tests passed|tests failed|Skipped|Failed|\*\*\*" "$OUT/gpu_tests.log" 2>/dev/null | tail -12
grep -E "^stream read|^target " "$OUT/bench_gemv.log" 2>/dev/null
[ -f "$OUT/sass_check.txt" ] && grep '^==' "$OUT/sass_check.txt"
grep -A40 "^Fastest variant" "$OUT/bench_gemv.log" 2>/dev/null | grep "M=1 " | head -12
