#!/usr/bin/env bash
# Sets up, builds policyctl and runs the main job: explain the default
# policy's decision for the local GPU, or for the catalog's H100 when this
# machine has none. Extra arguments go to `policyctl explain`.
#
# Builds only what `explain` needs, in its own folder (build-run/), so the
# first run is quick: without a usable GPU (or without nvcc) the CUDA parts
# are left out (KPOLICY_CUDA=OFF) since explain then reads the catalog's
# --fallback-device; with one, CUDA is compiled for that GPU's architecture
# only (CMAKE_CUDA_ARCHITECTURES=native) instead of the five test.sh builds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2

nvcc=${CUDACXX:-/usr/local/cuda/bin/nvcc}
command -v "$nvcc" >/dev/null 2>&1 || nvcc=$(command -v nvcc || true)

if tools/have_gpu.sh && [ -n "$nvcc" ]; then
  echo "run: GPU found; building policyctl with CUDA for this GPU's architecture" >&2
  cuda_flags=(-DKPOLICY_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES=native)
else
  echo "run: no usable GPU (or no nvcc); building policyctl without CUDA" >&2
  cuda_flags=(-DKPOLICY_CUDA=OFF)
fi
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release "${cuda_flags[@]}" >&2
cmake --build build-run -j"$(nproc)" --target policyctl >&2
exec build-run/tools/policyctl/policyctl explain --fallback-device h100 "$@"
