#!/usr/bin/env bash
# Sets up, builds policyctl and runs the main job: explain the default
# policy's decision for the local GPU, or for the catalog's H100 when this
# machine has none. Extra arguments go to `policyctl explain`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j"$(nproc)" --target policyctl >&2
exec build/tools/policyctl/policyctl explain --fallback-device h100 "$@"
