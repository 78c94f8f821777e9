#!/bin/sh
# Lines a change added and removed, by part of the tree, summed over the
# commits given (`git show --numstat` of each; give the commits themselves,
# not merges). README.md's "What issue 13 cost" table is its output.
# Usage: tools/change_cost.sh COMMIT...   (from the repository root)
set -eu
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMIT..." >&2
  exit 2
fi

# row TITLE PATHSPEC...: one table row, the pathspecs as given to git
# (a * also matches across folders: engine/*.cpp is every .cpp under engine/).
row() {
  title=$1
  shift
  for commit in $COMMITS; do git show --numstat --format= "$commit" -- "$@"; done |
    awk -v title="$title" -v paths="$*" '
      $1 ~ /^[0-9]+$/ { added += $1; removed += $2 }
      END { printf "| %s | `%s` | %d | %d |\n", title, paths, added, removed }'
}

COMMITS="$*"
echo "| part | paths | lines added | lines removed |"
echo "|---|---|---|---|"
row "language features (C++: engine, policyctl, runtime)" \
  'engine/*.cpp' 'engine/*.h' 'engine/*.in' 'tools/*.cpp' 'tools/*.h' 'runtime/*.cpp' 'runtime/*.h'
row "the language's JSON Schema (for editors)" 'policies/schema'
row "tests and their data" 'tests'
row "the policy change itself (YAML)" 'policies/default.yaml' 'policies/fleets'
row "records and contracts (YAML)" 'contracts/*.yaml'
row "the seed kept as a file (a copy)" 'policies/compat'
