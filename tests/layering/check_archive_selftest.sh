#!/usr/bin/env bash
# Shows that check_archive_no_cuda.sh can fail: archives an object that calls
# cudaMalloc (declared by hand, no CUDA header) and one that calls into
# kpolicy::runtime, and expects both rejected; a plain object must pass.
# usage: check_archive_selftest.sh CXX AR NM
set -euo pipefail
cxx=${1:?usage: check_archive_selftest.sh CXX AR NM}; ar=${2:?}; nm=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
# case NAME WANT TEXT SOURCE: compiles SOURCE into libNAME.a, checks it.
case_() {
  local name=$1 want=$2 text=$3 src=$4 out got=0
  printf '%s\n' "$src" >"$work/$name.cpp"
  "$cxx" -c "$work/$name.cpp" -o "$work/$name.o" && "$ar" rcs "$work/lib$name.a" "$work/$name.o"
  out=$(bash "$here/check_archive_no_cuda.sh" "$work/lib$name.a" "$nm" 2>&1) || got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL $name: wanted exit $want and \"$text\", got exit $got:"; sed 's/^/    /' <<<"$out"; failures=$((failures + 1))
  else echo "ok   $name: exit $got, \"$text\""; fi
}
case_ plain 0 'none from CUDA' 'int twice(int x) { return 2 * x; }'
case_ calls-cuda 1 'cudaMalloc' 'extern "C" int cudaMalloc(void**, unsigned long); int f() { void* p; return cudaMalloc(&p, 4); }'
case_ calls-runtime 1 'kpolicy::runtime::Start' 'namespace kpolicy::runtime { int Start(); } int g() { return kpolicy::runtime::Start(); }'
if [ "$failures" -ne 0 ]; then echo "check_archive_selftest: $failures case(s) failed"; exit 1; fi
echo "check_archive_selftest: every planted symbol was caught"
