#!/usr/bin/env bash
# Installs what kpolicy builds with, from Debian's packages. Safe to run twice:
# packages already present are skipped without touching the network.
# CUDA is not installed here: the build uses /usr/local/cuda when nvcc is there.
# Extra package names given as arguments are installed too (tools/fuzz.sh
# asks for clang and its sanitizer runtimes this way; the default build
# does not need them).
set -euo pipefail

# libboost-dev: Boost.Beast (policyctl run --serve); curl: the HTTP client its test uses.
packages=(build-essential cmake libyaml-cpp-dev libboost-dev libboost-program-options-dev libboost-test-dev curl "$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
  sudo=sudo
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
