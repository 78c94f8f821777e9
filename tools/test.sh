#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the README's test command,
# and what CI runs. GPU tests skip themselves, saying so, without a GPU.
# The model tests (label `model`) read the real GGUF models that
# tools/fetch_models.sh puts in $KPOLICY_MODEL_DIR (default
# ~/.cache/kpolicy/models), and fail when they are missing.
#
# Everything is built, every .cu included, wherever nvcc is found. Without a
# usable GPU (CI: 2 cores, none) the CUDA code is compiled for sm_75 and sm_90
# (+ PTX) only, not the five architectures of a release build: nothing can run
# it here, and these two still compile both sides of every __CUDA_ARCH__ guard
# in the tree (the guards test >= 800). With a GPU the release set is built.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cuda_arch=(-UCMAKE_CUDA_ARCHITECTURES)   # a GPU: the release set, CMakeLists.txt's default
if ! tools/have_gpu.sh; then
  cuda_arch=(-DCMAKE_CUDA_ARCHITECTURES="75-real;90")
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${cuda_arch[@]}"
cmake --build build -j"$(nproc)"
export KPOLICY_MODEL_DIR="${KPOLICY_MODEL_DIR:-$HOME/.cache/kpolicy/models}"
tools/fetch_models.sh "$KPOLICY_MODEL_DIR"
ctest --test-dir build --output-on-failure -j"$(nproc)"
