#!/usr/bin/env bash
# `policyctl run --serve 0` answered by a real HTTP client (curl) on
# 127.0.0.1: the effective configuration (its policy digest is the file's
# sha256sum), HEAD, 404, 405; then the run ends by SIGTERM, and a second run
# by --serve-for, each with exit status 0. Bounded: curl --max-time 5, every
# wait 60 s at most, policyctl under `timeout`.
# usage: serve_curl_test.sh POLICYCTL POLICY
set -euo pipefail
policyctl=$1
policy=$2
command -v curl >/dev/null || { echo "FAIL: curl is missing (tools/setup.sh installs it)"; exit 1; }
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- policyctl stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"; exit 1; }

# Waits (60 s at most) until policyctl's stdout has a line matching $1.
wait_for_line() {
  for _ in $(seq 600); do
    grep -q "$1" "$work/out" && return 0
    kill -0 "$pid" 2>/dev/null || fail "policyctl ended before printing '$1'"
    sleep 0.1
  done
  fail "no line '$1' within 60 s"
}

start() {
  timeout 120 "$policyctl" run --policy "$policy" --clean-env --layers 1 --tokens 1 --serve 0 "$@" \
    >"$work/out" 2>"$work/err" &
  pid=$!
  wait_for_line '^serving  http://127\.0\.0\.1:[0-9]*/v1/effective-config$'
  url=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*/v1/effective-config' "$work/out")
}

ask() {  # ask [CURL ARGS...] URL: prints the status code; the body lands in $work/body
  curl -sS --max-time 5 -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@"
}

start
[ "$(ask "$url")" = 200 ] || fail "GET $url: not 200"
grep -qi '^content-type: application/json' "$work/headers" || fail "GET: not application/json"
digest=$(sha256sum "$policy" | cut -d' ' -f1)
grep -q "\"sha256\": \"$digest\"" "$work/body" || fail "GET: the policy's sha256 $digest is not in the document"
grep -q '"devices": \[' "$work/body" || fail "GET: no devices"
grep -q '"cpu_only_reason": ' "$work/body" || fail "GET: a run without GPU kernels does not say why"
length=$(wc -c <"$work/body")
[ "$(ask -I "$url")" = 200 ] || fail "HEAD: not 200"
grep -qi "^content-length: $length" "$work/headers" || fail "HEAD: Content-Length is not the GET body's $length"
[ "$(ask "${url%/v1/effective-config}/metrics")" = 404 ] || fail "GET /metrics: not 404"
[ "$(ask -X POST "$url")" = 405 ] || fail "POST: not 405"
grep -qi '^allow: GET, HEAD' "$work/headers" || fail "POST: no Allow: GET, HEAD"

wait_for_line '^serving  .* until SIGINT or SIGTERM$'
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "after SIGTERM: exit status $status"
grep -q '^serving  stopped (signal)$' "$work/out" || fail "no 'stopped (signal)' line"
curl -sS --max-time 5 -o /dev/null "$url" 2>/dev/null && fail "still answering after the run ended"

start --serve-for 0.5
[ "$(ask "$url")" = 200 ] || fail "GET (--serve-for): not 200"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "--serve-for: exit status $status"
grep -q '^serving  stopped (--serve-for elapsed)$' "$work/out" || fail "no 'stopped (--serve-for elapsed)' line"
echo "ok: GET, HEAD, 404, 405 through curl; stopped by SIGTERM and by --serve-for"
