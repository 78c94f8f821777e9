#!/usr/bin/env bash
# Shows that check_doc_links.sh can fail: a small tree (not a git checkout,
# so the checker lists files itself) with one broken link of each kind must
# be rejected naming file, line and link; the same tree with them fixed passes.
set -euo pipefail
checker=$(cd "$(dirname "$0")" && pwd)/check_doc_links.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/policies" "$work/runtime" "$work/tools/bench"
printf '# Runtime\n\n## Load-time gate\n' >"$work/runtime/README.md"
: >"$work/tools/bench/bench_gemv.cu"
cat >"$work/policies/README.md" <<'END'
# Policies
See [the runtime](../runtime/README.md), [its gate](../runtime/README.md#load-time-gate),
runtime/README.md#load-time-gate in prose, `tools/bench/bench_gemv`, [up](#policies),
[web](https://example.com/x.md) and results/gemv-v1.* (a glob).
```
[inside a fence](nowhere.md)
```
END
out=$("$checker" "$work") || { echo "FAIL clean tree rejected:"; echo "$out"; exit 1; }
echo "ok   clean tree: $out"
cat >>"$work/policies/README.md" <<'END'
[missing](../runtime/GUIDE.md) and [bad anchor](../runtime/README.md#no-such-heading)
prose runtime/MISSING.md
[ref]: ./gone.md
END
got=0; out=$("$checker" "$work") || got=$?
failures=0
for want in 'policies/README.md:8: link "../runtime/GUIDE.md" does not resolve' \
            'policies/README.md:8: link "../runtime/README.md#no-such-heading" does not resolve (no heading #no-such-heading' \
            'policies/README.md:9: link "runtime/MISSING.md" does not resolve' \
            'policies/README.md:10: link "./gone.md" does not resolve' \
            '4 of '; do
  grep -qF -- "$want" <<<"$out" || { echo "FAIL missing: $want"; failures=$((failures + 1)); }
done
[ "$got" -eq 1 ] || { echo "FAIL exit $got, wanted 1"; failures=$((failures + 1)); }
echo "$out" | sed 's/^/    /'
[ "$failures" -eq 0 ] || exit 1
echo "check_doc_links_selftest: every planted broken link was caught"
