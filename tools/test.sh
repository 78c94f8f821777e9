#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the README's test command,
# and what CI runs. GPU tests skip themselves, saying so, without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
