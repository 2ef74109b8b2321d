#!/usr/bin/env bash
# Installs the Debian packages Herald needs to build, run and test, and only
# those that are missing. Running it again when everything is present does
# nothing (no apt-get update either).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build git clang-format
  libcaf-dev libpqxx-dev libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev
  libkainjow-mustache-dev libjwt-dev libcli11-dev prometheus-cpp-dev
  libjemalloc-dev
  postgresql postgresql-contrib
  curl openssl python3 python3-websockets python3-psycopg2 prometheus
  chromium fonts-dejavu-core nodejs
  # Fuzzing and sanitizer builds (tests/fuzz, HERALD_SANITIZE): clang's
  # libFuzzer and sanitizer runtimes are only "recommended" by clang.
  clang libclang-rt-14-dev libfuzzer-14-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# Some nodejs builds bring npm along; Debian's own npm only when none came.
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]} == 0)); then
  echo "deps: everything is installed"
  exit 0
fi

echo "deps: missing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: run this as root, or run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: installed ${#missing[@]} package(s)"
