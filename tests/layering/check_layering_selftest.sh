#!/usr/bin/env bash
# Shows that check_layering.sh can fail: builds small trees in a temporary
# folder with the repository's own layers.txt, plants one bad include (or a
# new, undeclared folder) in each, and expects the checker to reject it naming
# the file and line, and to accept the clean tree and a correctly placed
# new layer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
checker=$here/check_layering.sh
rules=$here/layers.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A clean tree shaped like the repository: each layer includes what it may.
make_tree() {
  local t=$1
  rm -rf "$t"; mkdir -p "$t"/{engine/include/kpolicy,engine/src,kernels/include/kpolicy/kernels,kernels/cuda}
  mkdir -p "$t"/{runtime/include/kpolicy/runtime,runtime/src,tools/policyctl,tests/engine,tests/layering}
  cp "$rules" "$t/tests/layering/layers.txt"
  printf '#pragma once\n#include <string>\n' >"$t/engine/include/kpolicy/expected.h"
  printf '#include "kpolicy/expected.h"\n#include <yaml-cpp/yaml.h>\n' >"$t/engine/src/loader.cpp"
  printf '#pragma once\n#include "kpolicy/expected.h"\n' >"$t/kernels/include/kpolicy/kernels/q4_k.h"
  printf '#include <cuda_runtime.h>\n#include "kpolicy/kernels/q4_k.h"\n' >"$t/kernels/cuda/q4k.cu"
  printf '#pragma once\n#include "kpolicy/kernels/q4_k.h"\n' >"$t/runtime/include/kpolicy/runtime/runtime.h"
  printf '#include <cuda_runtime_api.h>\n#include "kpolicy/runtime/runtime.h"\n' >"$t/runtime/src/probe.cpp"
  printf '#pragma once\n' >"$t/tools/policyctl/commands.h"
  printf '#include "commands.h"\n#include "kpolicy/runtime/runtime.h"\n' >"$t/tools/policyctl/main.cpp"
  printf '#include "kpolicy/expected.h"\n#include "../../tools/policyctl/commands.h"\n' >"$t/tests/engine/t.cpp"
  mkdir -p "$t/build/engine"; printf '#include "kpolicy/runtime/runtime.h"\n' >"$t/build/engine/generated.cpp"
}

# expect_status NAME STATUS [TEXT]: runs the checker on $work/NAME; wants exit STATUS and TEXT in its output.
expect_status() {
  local name=$1 want=$2 text=${3:-} out got=0
  out=$("$checker" "$work/$name" 2>&1) || got=$?
  if [ "$got" -ne "$want" ] || { [ -n "$text" ] && ! grep -qF -- "$text" <<<"$out"; }; then
    echo "FAIL $name: wanted exit $want${text:+ and \"$text\"}, got exit $got:"; sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok   $name: exit $got${text:+, says \"$text\"}"
  fi
}

# plant NAME FILE LINE...: a clean tree NAME with LINE(s) appended to FILE.
plant() {
  local name=$1 file=$2; shift 2
  make_tree "$work/$name"; mkdir -p "$(dirname "$work/$name/$file")"
  printf '%s\n' "$@" >>"$work/$name/$file"
}

make_tree "$work/clean"
expect_status clean 0

plant engine-includes-kernels engine/src/loader.cpp '#include "kpolicy/kernels/q4_k.h"'
expect_status engine-includes-kernels 1 'engine/src/loader.cpp:3: engine may not include "kpolicy/kernels/q4_k.h"'
plant engine-includes-runtime engine/include/kpolicy/expected.h '#  include <kpolicy/runtime/runtime.h>'
expect_status engine-includes-runtime 1 'engine/include/kpolicy/expected.h:3: engine may not include'
plant engine-includes-tools engine/src/loader.cpp '#include "../../tools/policyctl/commands.h"'
expect_status engine-includes-tools 1 'engine/src/loader.cpp:3: engine may not include "../../tools/policyctl/commands.h" (tools/policyctl/commands.h'
plant engine-includes-cuda-runtime engine/src/loader.cpp '#include <cuda_runtime.h>'
expect_status engine-includes-cuda-runtime 1 'engine/src/loader.cpp:3: engine includes CUDA header <cuda_runtime.h>'
plant engine-includes-cublas engine/src/loader.cpp '#include <cublasLt.h>'
expect_status engine-includes-cublas 1 'engine/src/loader.cpp:3: engine includes CUDA header <cublasLt.h>'
plant engine-includes-libcuxx engine/src/loader.cpp '#include <cuda/std/atomic>'
expect_status engine-includes-libcuxx 1 'engine includes CUDA header <cuda/std/atomic>'
plant engine-holds-cuda-source engine/src/fast.cu '#include "kpolicy/expected.h"'
expect_status engine-holds-cuda-source 1 'engine/src/fast.cu:1: CUDA source in engine/'
plant kernels-includes-runtime kernels/cuda/q4k.cu '#include "kpolicy/runtime/runtime.h"'
expect_status kernels-includes-runtime 1 'kernels/cuda/q4k.cu:3: kernels may not include "kpolicy/runtime/runtime.h"'
plant kernels-includes-tools kernels/cuda/q4k.cu '#include "commands.h"'
expect_status kernels-includes-tools 1 'kernels/cuda/q4k.cu:3: kernels may not include "commands.h" (tools/policyctl/commands.h'
plant runtime-includes-tools runtime/src/probe.cpp '#include "commands.h"'
expect_status runtime-includes-tools 1 'runtime/src/probe.cpp:3: runtime may not include "commands.h"'
# A commented-out include is not an include.
plant comment-is-not-include engine/src/loader.cpp '// #include "kpolicy/runtime/runtime.h"'
expect_status comment-is-not-include 0

# A new folder with sources must be placed in layers.txt before it passes.
plant new-folder-undeclared serving/src/layer.cpp '#include "kpolicy/kernels/q4_k.h"'
expect_status new-folder-undeclared 1 'folder serving/ holds sources but has no line in tests/layering/layers.txt'
# Placed between kernels and runtime: serving may include kernels and engine, runtime may include serving.
plant new-folder-placed serving/include/kpolicy/serving/layer.h '#pragma once' '#include "kpolicy/kernels/q4_k.h"' '#include "kpolicy/expected.h"'
printf '#include "kpolicy/serving/layer.h"\n' >>"$work/new-folder-placed/runtime/src/probe.cpp"
sed -i 's/^runtime: .*/runtime: serving kernels engine\nserving: kernels engine/' "$work/new-folder-placed/tests/layering/layers.txt"
expect_status new-folder-placed 0
# ... and kernels still may not reach up into it.
plant kernels-includes-serving serving/include/kpolicy/serving/layer.h '#pragma once'
printf '#include "kpolicy/serving/layer.h"\n' >>"$work/kernels-includes-serving/kernels/cuda/q4k.cu"
sed -i 's/^runtime: .*/runtime: serving/; $ a serving: kernels' "$work/kernels-includes-serving/tests/layering/layers.txt"
expect_status kernels-includes-serving 1 'kernels/cuda/q4k.cu:3: kernels may not include "kpolicy/serving/layer.h"'
# Transitive: runtime sits on serving, serving on kernels, so runtime may include kernels too.
cp -r "$work/kernels-includes-serving" "$work/transitive"; sed -i '3d' "$work/transitive/kernels/cuda/q4k.cu"
expect_status transitive 0

# Broken rules are reported as such (exit 2), not as a passing tree.
make_tree "$work/cyclic-rules"
sed -i 's/^engine:.*/engine: runtime/' "$work/cyclic-rules/tests/layering/layers.txt"
expect_status cyclic-rules 2 'layers form a cycle'

if [ "$failures" -ne 0 ]; then echo "check_layering_selftest: $failures case(s) failed"; exit 1; fi
echo "check_layering_selftest: every planted violation was caught"
