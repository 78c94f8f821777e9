#!/usr/bin/env bash
# Checks a built library of a layer without CUDA (libkpolicy_engine.a) for
# symbols it needs from CUDA or from a higher layer: the undefined symbols
# nm lists must name no CUDA runtime, driver or library function (cuda*, cu*
# driver calls, cublas*, nvrtc*, __cuda*) and nothing in kpolicy::kernels or
# kpolicy::runtime. This catches what an include check cannot: a declaration
# written by hand, or a dependency pulled in through a generated source.
#
# usage: check_archive_no_cuda.sh ARCHIVE [NM]    (exit 0 clean, 1 violation, 2 unusable)
set -euo pipefail
archive=${1:?usage: check_archive_no_cuda.sh ARCHIVE [NM]}
nm=${2:-nm}
[ -r "$archive" ] || { echo "check_archive_no_cuda: cannot read $archive" >&2; exit 2; }
undefined=$("$nm" -u -C "$archive") || { echo "check_archive_no_cuda: $nm failed on $archive" >&2; exit 2; }
bad=$(grep -E '^[[:space:]]*U[[:space:]]+(cuda[A-Z_]|cu[A-Z][A-Za-z]+(_v[0-9]+)?$|cublas|cufft|curand|cusparse|cusolver|nvrtc|nccl|cudnn|__cuda|kpolicy::(kernels|runtime)::)' <<<"$undefined" || true)
if [ -n "$bad" ]; then
  echo "check_archive_no_cuda: $(basename "$archive") needs symbols from CUDA or a higher layer:"
  sed 's/^[[:space:]]*U[[:space:]]*/  /' <<<"$bad" | sort -u
  exit 1
fi
echo "check_archive_no_cuda: $(basename "$archive"): $(grep -c ' U ' <<<"$undefined" || true) undefined symbols, none from CUDA or a higher layer"
