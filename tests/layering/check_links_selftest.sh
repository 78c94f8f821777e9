#!/usr/bin/env bash
# Shows that the configure-time link check (cmake/KpolicyLayering.cmake) can
# fail: configures tiny projects shaped like kpolicy (engine/, kernels/, the
# repository's layers.txt) whose engine target links, directly or through an
# imported target, something CUDA, and expects configuration to stop naming it.
# The clean project must configure.
#
# usage: check_links_selftest.sh CMAKE SOURCE_ROOT
set -euo pipefail
cmake=${1:?usage: check_links_selftest.sh CMAKE SOURCE_ROOT}
root=$(cd "${2:?usage: check_links_selftest.sh CMAKE SOURCE_ROOT}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# project NAME ENGINE_LINK_LINE...: a project whose engine/CMakeLists.txt ends with the given lines.
project() {
  local p=$work/$1; shift
  mkdir -p "$p/engine" "$p/kernels" "$p/tests/layering" "$p/cmake"
  cp "$root/tests/layering/layers.txt" "$p/tests/layering/"
  cp "$root/cmake/KpolicyLayering.cmake" "$p/cmake/"
  cat >"$p/CMakeLists.txt" <<'END'
cmake_minimum_required(VERSION 3.24)
project(layering_selftest LANGUAGES NONE)
add_library(CUDA::cudart INTERFACE IMPORTED)
add_library(yaml-cpp INTERFACE IMPORTED)
add_library(vendor_gpu INTERFACE IMPORTED)
set_property(TARGET vendor_gpu PROPERTY INTERFACE_LINK_LIBRARIES CUDA::cudart)
add_subdirectory(kernels)
add_subdirectory(engine)
include(cmake/KpolicyLayering.cmake)
kpolicy_check_no_cuda_links(${PROJECT_SOURCE_DIR}/tests/layering/layers.txt)
END
  echo 'add_library(kpolicy_kernels_cuda INTERFACE)' >"$p/kernels/CMakeLists.txt"
  printf '%s\n' 'add_library(kpolicy_base INTERFACE)' 'add_library(kpolicy_engine INTERFACE)' \
    'target_link_libraries(kpolicy_engine INTERFACE kpolicy_base yaml-cpp)' "$@" >"$p/engine/CMakeLists.txt"
}

# expect NAME STATUS [TEXT]: configures NAME; wants success (0) or failure (1) with TEXT in the output.
expect() {
  local name=$1 want=$2 text=${3:-} out got=0
  out=$("$cmake" -S "$work/$name" -B "$work/$name/build" 2>&1) || got=1
  # CMake wraps long messages: compare with runs of blanks and newlines as one space.
  if [ "$got" -ne "$want" ] || { [ -n "$text" ] && ! tr -s ' \n' '  ' <<<"$out" | grep -qF -- "$text"; }; then
    local wanted=success; [ "$want" -eq 1 ] && wanted=failure
    echo "FAIL $name: wanted $wanted${text:+ saying \"$text\"}, got status $got:"; sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok   $name${text:+: \"$text\"}"
  fi
}

project clean
expect clean 0
project links-cudart 'target_link_libraries(kpolicy_engine INTERFACE CUDA::cudart)'
expect links-cudart 1 'kpolicy_engine is in a layer without CUDA but links a CUDA library: kpolicy_engine -> CUDA::cudart'
project links-cuda-through-import 'target_link_libraries(kpolicy_base INTERFACE $<LINK_ONLY:vendor_gpu>)'
expect links-cuda-through-import 1 'links a CUDA library: kpolicy_base -> vendor_gpu -> CUDA::cudart'
project links-cublas-by-name 'target_link_libraries(kpolicy_engine INTERFACE cublas)'
expect links-cublas-by-name 1 'links a CUDA library: kpolicy_engine -> cublas'
project links-cublas-by-path 'target_link_libraries(kpolicy_engine INTERFACE /usr/local/cuda/lib64/libcublasLt.so)'
expect links-cublas-by-path 1 'links a CUDA library: kpolicy_engine -> /usr/local/cuda/lib64/libcublasLt.so'
project links-kernels-target 'target_link_libraries(kpolicy_engine INTERFACE kpolicy_kernels_cuda)'
expect links-kernels-target 1 'links kpolicy_kernels_cuda (from kernels/, a layer that may use CUDA)'
project has-cuda-source 'add_library(engine_fast INTERFACE fast.cu)' 'target_link_libraries(kpolicy_engine INTERFACE engine_fast)'
expect has-cuda-source 1 'links engine_fast, which has CUDA source fast.cu'

if [ "$failures" -ne 0 ]; then echo "check_links_selftest: $failures case(s) failed"; exit 1; fi
echo "check_links_selftest: every planted CUDA link was caught"
