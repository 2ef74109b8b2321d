#!/usr/bin/env bash
# Installs what is missing, builds from clean, starts a private throwaway
# PostgreSQL, runs every test suite (ctest), and removes the cluster again.
#
#   scripts/test.sh                   everything, from a clean build
#   scripts/test.sh --keep-build      reuse build/test (faster while working)
#   scripts/test.sh --suite NAME      one ctest entry, e.g. storage.migrations
#   scripts/test.sh --full            the long variants: the fault battery at
#                                     full sizes (10,000-message bursts, 2,000
#                                     clients), the bigger attacks; combines
#                                     with the others
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

keep_build=""
suite=""
while (($# > 0)); do
  case "$1" in
    --keep-build) keep_build=1 ;;
    --full) export HERALD_FAULT_FULL=1 HERALD_SECURITY_FULL=1 ;;
    --suite)
      suite=$2
      keep_build=1
      shift
      ;;
    *)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
  shift
done

bash scripts/deps.sh

build=build/test
[[ -n "$keep_build" ]] || rm -rf "$build"
# Optimised as heraldd runs, without debug info: that alone makes the
# Beast-heavy files a third faster to compile.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DHERALD_WERROR=ON >/dev/null
started=$(date +%s)
cmake --build "$build"
echo "build: $(($(date +%s) - started)) s"

# The test cluster, apart from the development one (scripts/pg.sh).
test_pg() {
  HERALD_PG_DIR="$repo/.herald/test-pg" HERALD_PG_PORT=55433 HERALD_PG_FAST=1 \
    scripts/pg.sh "$@"
}
test_pg remove
trap 'test_pg remove' EXIT
HERALD_TEST_DATABASE_URL=$(test_pg start)
export HERALD_TEST_DATABASE_URL

args=(--test-dir "$build" --output-on-failure --timeout 900)
[[ -n "$suite" ]] && args+=(-R "^${suite//./\\.}\$")
ctest "${args[@]}"
