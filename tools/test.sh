#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the README's test command,
# and what CI runs. GPU tests skip themselves, saying so, without a GPU.
# The model tests (label `model`) read the real GGUF models that
# tools/fetch_models.sh puts in $KPOLICY_MODEL_DIR (default
# ~/.cache/kpolicy/models), and fail when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
export KPOLICY_MODEL_DIR="${KPOLICY_MODEL_DIR:-$HOME/.cache/kpolicy/models}"
tools/fetch_models.sh "$KPOLICY_MODEL_DIR"
ctest --test-dir build --output-on-failure -j"$(nproc)"
