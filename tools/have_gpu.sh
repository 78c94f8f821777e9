#!/usr/bin/env bash
# Exits 0 when this machine has a GPU this user can use, 1 otherwise: the
# driver lists one (nvidia-smi -L), or, without nvidia-smi, /dev/nvidia0 can
# be opened for reading and writing. A GPU that is present but unusable (no
# driver, no permission) counts as none: callers then build and run as on a
# machine without one. Used by run.sh and test.sh to choose what to build.
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L 2>/dev/null | grep -q '^GPU '
  exit
fi
[ -r /dev/nvidia0 ] && [ -w /dev/nvidia0 ]
