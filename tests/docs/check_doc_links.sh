#!/usr/bin/env bash
# Checks that every link in the repository's Markdown files resolves: markdown
# links [text](path) and [text](path#anchor), reference definitions
# "[id]: path", and paths written in prose or code spans that name a file of
# this repository (a word starting with a top-level folder, like
# runtime/README.md, or any word ending in .md, with an optional #anchor).
# Markdown links resolve from the linking file's folder (as GitHub renders
# them); prose paths from there or from the repository root. An anchor must
# match a heading of the target file (GitHub's slugs). URLs and fenced code
# blocks are skipped, and so are globs (path.*); a prose path also resolves
# when a file of that stem exists (a binary named after its source).
#
# usage: check_doc_links.sh [SOURCE_ROOT]
# Prints FILE:LINE: link "..." does not resolve (...) per broken link, exits 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
cd "$root"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# The tracked Markdown files; without git (an unpacked tarball), every one outside build trees.
if git -C "$root" rev-parse --show-toplevel >/dev/null 2>&1 &&
   [ "$(git -C "$root" rev-parse --show-toplevel)" = "$root" ]; then
  git ls-files -- '*.md' >"$list"
else
  find . -mindepth 1 -type d \( -name '.*' -o -name 'build*' \) -prune -o -type f -name '*.md' -print | sed 's|^\./||' >"$list"
fi
tops=$(for d in */; do d=${d%/}; case "$d" in build*) ;; *) [ -e "$d/CMakeCache.txt" ] || printf '%s|' "$d" ;; esac; done)

rc=0
awk -v list="$list" -v tops="${tops%|}" '
function dirname(p) { return p ~ /\// ? substr(p, 1, match(p, /\/[^\/]*$/) - 1) : "." }
function exists(p) { return system("test -e \"" p "\"") == 0 }
# A prose path may name what a source builds (tools/bench/bench_gemv from bench_gemv.cu).
function exists_as_stem(p) { return system("ls -d \"" p "\".* >/dev/null 2>&1") == 0 }
# GitHub heading slugs of FILE into slugs[FILE, slug].
# Read through cat: a getline on the file being scanned would share, and reset, its stream.
function load_slugs(file,   line, fenced, h, s, seen, n, cmd) {
  if (file in slugged) return
  slugged[file] = 1; fenced = 0; cmd = "cat \"" file "\""
  while ((cmd | getline line) > 0) {
    if (line ~ /^[ \t]*(```|~~~)/) { fenced = !fenced; continue }
    if (fenced || line !~ /^#+[ \t]/) continue
    h = line; sub(/^#+[ \t]+/, "", h); sub(/[ \t]+#*[ \t]*$/, "", h)
    s = tolower(h); gsub(/[^a-z0-9 _\200-\377-]/, "", s); gsub(/ /, "-", s)
    n = seen[s]++
    slugs[file, n ? s "-" n : s] = 1
  }
  close(cmd)
}
function check(md, lineno, link, prose,   path, anchor, base, target, alt) {
  if (link ~ /^[a-zA-Z][a-zA-Z0-9+.-]*:/ || link ~ /^\/\//) return   # URL or mailto:
  anchor = ""
  if (index(link, "#")) { anchor = substr(link, index(link, "#") + 1); link = substr(link, 1, index(link, "#") - 1) }
  gsub(/%20/, " ", link)
  base = dirname(md)
  if (link == "") target = md
  else if (link ~ /^\//) target = substr(link, 2)
  else target = (base == "." ? "" : base "/") link
  if (link != "" && !exists(target)) {
    alt = link; sub(/^\//, "", alt)
    if (prose && exists(alt)) target = alt
    else if (prose && (exists_as_stem(target) || exists_as_stem(alt))) return
    else { report(md, lineno, link (anchor != "" ? "#" anchor : ""), "no file " target (prose && alt != target ? " nor " alt : "")); return }
  }
  if (anchor == "" || target !~ /\.md$/) return
  load_slugs(target)
  if (!((target, anchor) in slugs)) report(md, lineno, link "#" anchor, "no heading #" anchor " in " target)
}
function report(md, lineno, link, why) { print md ":" lineno ": link \"" link "\" does not resolve (" why ")"; broken++ }
BEGIN {
  prose_path = "(^|[^A-Za-z0-9_.\\/$-])((" tops ")\\/[A-Za-z0-9_.\\/-]*[A-Za-z0-9_\\/]|[A-Za-z0-9_.\\/-]*[A-Za-z0-9_-]\\.md)(#[A-Za-z0-9_-]+)?"
  while ((getline md < list) > 0) {
    files++; lineno = 0; fenced = 0
    while ((getline line < md) > 0) {
      lineno++
      if (line ~ /^[ \t]*(```|~~~)/) { fenced = !fenced; continue }
      if (fenced) continue
      rest = line
      # [text](target "title") and [text](<target>)
      while (match(rest, /\]\([^)]*\)/)) {
        link = substr(rest, RSTART + 2, RLENGTH - 3); rest = substr(rest, RSTART + RLENGTH)
        sub(/^[ \t]*</, "", link); sub(/>[ \t]*$/, "", link); sub(/[ \t]+"[^"]*"[ \t]*$/, "", link)
        links++; check(md, lineno, link, 0)
      }
      if (match(line, /^[ \t]*\[[^\]]+\]:[ \t]+[^ \t]+/)) {
        link = line; sub(/^[ \t]*\[[^\]]+\]:[ \t]+/, "", link); sub(/[ \t].*/, "", link); sub(/^</, "", link); sub(/>$/, "", link)
        links++; check(md, lineno, link, 0)
      }
      # Prose and code-span paths, with markdown link targets and URLs taken out.
      rest = line
      gsub(/\]\([^)]*\)/, "]", rest); gsub(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^ \t)>`]*/, "", rest)
      while (match(rest, prose_path)) {
        word = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
        sub(/^[^A-Za-z0-9_.\/-]/, "", word)
        if (word ~ /^\.md/ || word ~ /^[.\/]/) continue
        if (rest ~ /^\.?\*/) continue                     # a glob: results/gemv-v1.*
        links++; check(md, lineno, word, 1)
      }
    }
    close(md)
  }
  if (broken) { print "check_doc_links: " broken " of " links " links in " files " Markdown files do not resolve"; exit 1 }
  print "check_doc_links: " links " links in " files " Markdown files, all resolve"
}' || rc=$?
exit "$rc"
