#!/usr/bin/env bash
# Checks that each top-level folder includes only headers it may include, by the
# rules in layers.txt (which folder sits on which), and that the no-cuda layers
# include no CUDA header and hold no CUDA source.
#
# usage: check_layering.sh [SOURCE_ROOT [RULES_FILE]]
#   defaults: the repository this script is in, and its tests/layering/layers.txt.
# Prints FILE:LINE: <what is wrong> for each violation and exits 1; exits 0 when
# the rules hold, 2 when the rules file itself is broken.
#
# An include is attributed to the folder holding the file it names: first the
# path relative to the including file, then any source file whose path ends in
# the included name (kpolicy/runtime/runtime.h -> runtime/include/kpolicy/...).
# A name found nowhere in the tree is a system or third-party header. Only
# bash, find and POSIX awk are used, so this runs wherever the build does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
rules=${2:-$root/tests/layering/layers.txt}
[ -r "$rules" ] || { echo "check_layering: cannot read rules file $rules" >&2; exit 2; }
cd "$root"

# Source files under every top-level folder except hidden ones and build trees
# (build*/, or any folder holding a CMakeCache.txt).
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for dir in */; do
  dir=${dir%/}
  case "$dir" in build*) continue ;; esac
  [ -e "$dir/CMakeCache.txt" ] && continue
  find "$dir" -type d -name '.*' -prune -o -type f \( -name '*.h' -o -name '*.hh' \
    -o -name '*.hpp' -o -name '*.hxx' -o -name '*.inl' -o -name '*.c' -o -name '*.cc' \
    -o -name '*.cpp' -o -name '*.cxx' -o -name '*.cu' -o -name '*.cuh' -o -name '*.in' \) \
    -print
done | LC_ALL=C sort >"$list"

shown=${rules#"$root"/}
rc=0
awk -v rules="$rules" -v shown="$shown" -v list="$list" '
function fail_rules(msg) { print shown ": " msg > "/dev/stderr"; rules_broken = 1 }
function layer_of(path) { sub(/\/.*/, "", path); return path }
function normalize(path,   parts, n, i, out, k, stack) {
  n = split(path, parts, "/"); k = 0
  for (i = 1; i <= n; i++) {
    if (parts[i] == "" || parts[i] == ".") continue
    if (parts[i] == ".." && k > 0 && stack[k] != "..") { k--; continue }
    stack[++k] = parts[i]
  }
  out = ""
  for (i = 1; i <= k; i++) out = out (i > 1 ? "/" : "") stack[i]
  return out
}
# CUDA toolkit headers: the runtime and driver APIs, the math libraries, libcu++
# (cuda/...), CUB, Thrust, CUTLASS/CuTe and the device-code headers.
function is_cuda_header(name) {
  return name ~ /^(cuda|cublas|cufft|curand|cusparse|cusolver|cudnn|nvrtc|nvJitLink|nvToolsExt|nvtx|nccl|npp)/ ||
         name ~ /^(cub|thrust|cutlass|cute|crt)\// ||
         name ~ /^(mma|cooperative_groups|vector_types|driver_types|device_launch_parameters|sm_[0-9]+_[a-z_]+)(\.h(pp)?)?$/
}
# Marks may[a, b] for every b that a reaches through the declared lower layers.
function close_over(a, b,   c) {
  for (c in declared) {
    if (((b, c) in direct) && !((a, c) in may)) { may[a, c] = 1; close_over(a, c) }
  }
}
function allowed_list(l,   c, out) {
  if (l in anything) return "anything"
  out = ""
  for (c in declared) if ((l, c) in may) out = out (out == "" ? "" : ", ") c
  return out == "" ? "only its own headers" : out
}
# The file an include names: relative to the includer, else a unique-enough suffix match
# (own layer first, then an allowed one, else the first found).
function resolve(from, name,   rel, f, own, ok, first, l) {
  rel = normalize(from "/../" name)
  if (rel in files) return rel
  if ((layer_of(from), name) in cache) return cache[layer_of(from), name]
  own = ""; ok = ""; first = ""
  for (f in files) {
    if (f != name && substr(f, length(f) - length(name)) != "/" name) continue
    l = layer_of(f)
    if (l == layer_of(from)) own = f
    else if ((layer_of(from) in anything) || (layer_of(from), l) in may) ok = f
    else if (first == "" || f < first) first = f
  }
  f = own != "" ? own : (ok != "" ? ok : first)
  cache[layer_of(from), name] = f
  return f
}
function report(file, line, msg) { print file ":" line ": " msg; violations++ }
BEGIN {
  while ((getline line < rules) > 0) {
    sub(/#.*/, "", line)
    if (line ~ /^[ \t]*$/) continue
    if (line !~ /^[ \t]*[A-Za-z0-9_.-]+:/) { fail_rules("not \"LAYER: LOWER...\": " line); continue }
    key = line; sub(/:.*/, "", key); gsub(/[ \t]/, "", key)
    rest = line; sub(/^[^:]*:/, "", rest)
    n = split(rest, lowers, /[ \t]+/)
    if (key == "no-cuda") {
      for (i = 1; i <= n; i++) if (lowers[i] != "") nocuda[lowers[i]] = 1
      continue
    }
    if (key in declared) fail_rules("layer " key " declared twice")
    declared[key] = 1
    for (i = 1; i <= n; i++) {
      if (lowers[i] == "") continue
      if (lowers[i] == "*") anything[key] = 1
      else direct[key, lowers[i]] = 1
    }
  }
  for (k in direct) { split(k, pair, SUBSEP); if (!(pair[2] in declared)) fail_rules("layer " pair[1] " sits on undeclared layer " pair[2]) }
  for (k in nocuda) if (!(k in declared)) fail_rules("no-cuda names undeclared layer " k)
  for (a in declared) close_over(a, a)
  for (a in declared) if ((a, a) in may) fail_rules("layers form a cycle through " a)
  if (rules_broken) exit 2

  while ((getline f < list) > 0) { sub(/^\.\//, "", f); files[f] = 1 }
  nfiles = 0; nincludes = 0
  for (f in files) order[++nfiles] = f
  # Stable report order: sort the file names (insertion sort; a few hundred files).
  for (i = 2; i <= nfiles; i++) { v = order[i]; for (j = i - 1; j > 0 && order[j] > v; j--) order[j + 1] = order[j]; order[j + 1] = v }
  for (i = 1; i <= nfiles; i++) {
    f = order[i]; l = layer_of(f)
    if (!(l in declared)) {
      if (!(l in told)) { report(f, 1, "folder " l "/ holds sources but has no line in " shown " (say what it may include)"); told[l] = 1 }
      continue
    }
    if ((l in nocuda) && f ~ /\.cuh?$/) report(f, 1, "CUDA source in " l "/, a layer without CUDA")
    lineno = 0
    while ((getline text < f) > 0) {
      lineno++
      if (text !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) continue
      name = text; sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", name); sub(/[>"].*/, "", name)
      nincludes++
      target = resolve(f, name)
      if (target == "") {
        if ((l in nocuda) && is_cuda_header(name)) report(f, lineno, l " includes CUDA header <" name ">; " l "/ is a layer without CUDA")
        continue
      }
      tl = layer_of(target)
      if (tl == l || (l in anything) || ((l, tl) in may)) continue
      report(f, lineno, l " may not include \"" name "\" (" target ", layer " tl "); " l " may include " allowed_list(l))
    }
    close(f)
  }
  if (violations) { print "check_layering: " violations " violation(s) of " shown; exit 1 }
  print "check_layering: " nfiles " files, " nincludes " includes: every layer includes only what " shown " allows"
}' || rc=$?
exit "$rc"
