#!/usr/bin/env bash
# Times `policyctl fleet` and `policyctl diff` over an inventory, as README.md's
# speed table reports them: RUNS runs of each (default 5), each process
# timed by /usr/bin/time (wall, user, sys), with the load average before and
# after, since on a shared machine the wall time depends on it.
#
#   python3 tools/bench/gen_inventory.py 100000 nodes.json
#   tools/bench/time_fleet.sh build/tools/policyctl/policyctl nodes.json [RUNS]
#
# Prints, per command, every run and the median wall and median CPU (user + sys).
set -euo pipefail
policyctl=$1
nodes=$2
runs=${3:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/bin/time ] || { echo "time_fleet.sh: needs /usr/bin/time (Debian package time)" >&2; exit 2; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure() {
  local name=$1
  shift
  local log
  log=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S' -a -o "$log" "$@" >/dev/null || true  # diff exits 1 when something changes
  done
  # diff's exit status 1 (something changes) adds a line "Command exited with ..."
  grep -E '^[0-9.]+ [0-9.]+ [0-9.]+$' "$log" >"$log.runs"
  mv "$log.runs" "$log"
  echo "$name"
  awk '{ printf "  run: %.2f s wall, %.2f s CPU (%.2f user + %.2f sys)\n", $1, $2 + $3, $2, $3 }' "$log"
  echo "  median: $(awk '{ print $1 }' "$log" | median) s wall, $(awk '{ print $2 + $3 }' "$log" | median) s CPU"
  rm -f "$log"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
measure "policyctl fleet --inventory $nodes --format json" "$policyctl" fleet --inventory "$nodes" --format json
measure "policyctl diff --policy policies/default.yaml --policy policies/fleets/blackwell-fp8-guard.yaml --inventory $nodes --format json" \
  "$policyctl" diff --policy "$root/policies/default.yaml" --policy "$root/policies/fleets/blackwell-fp8-guard.yaml" \
  --inventory "$nodes" --format json
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
