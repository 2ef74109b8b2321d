#!/usr/bin/env bash
# Installs what is missing, builds from clean, starts a private throwaway
# PostgreSQL, runs every test suite (ctest), and removes the cluster again.
#
#   scripts/test.sh                   everything, from a clean build
#   scripts/test.sh --keep-build      reuse build/test (faster while working)
#   scripts/test.sh --suite NAME      one ctest entry, e.g. storage.migrations,
#                                     fuzz.protocol or sanitize.core.jwt
#   scripts/test.sh --full            the long variants: the fault battery at
#                                     full sizes (10,000-message bursts, 2,000
#                                     clients), the bigger attacks, the actor
#                                     suites under the sanitizers; combines
#                                     with the others
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

keep_build=""
suite=""
sanitize_actors=OFF
while (($# > 0)); do
  case "$1" in
    --keep-build) keep_build=1 ;;
    --full)
      export HERALD_FAULT_FULL=1 HERALD_SECURITY_FULL=1
      sanitize_actors=ON
      ;;
    --suite)
      suite=$2
      keep_build=1
      shift
      ;;
    *)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
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

# ---- Fuzzing and sanitizers: their trees ------------------------------------
# Each libFuzzer target of tests/fuzz runs for a few seconds over its seeds
# (label fuzz; scripts/fuzz.sh fuzzes for longer), then the pure suites
# (core, the feed buffer, the stream index; with --full the actor suites
# too) run again under ASan + UBSan (HERALD_SANITIZE; label sanitize). Both
# trees are built with clang, which libFuzzer needs and which compiles
# CAF-heavy code at -O0 with sanitizers in a fifth of the time GCC takes at
# -O1. They build in the background at the lowest CPU priority while ctest
# runs: most of ctest waits on sockets and processes, and a niced compiler
# only takes the CPU time the tests leave, without moving their deadlines.
run_fuzz=1
run_sanitize=1
if [[ -n "$suite" ]]; then
  [[ "$suite" == fuzz.* ]] || run_fuzz=""
  [[ "$suite" == sanitize.* ]] || run_sanitize=""
fi
fuzz_build=build/fuzz
sanitize_build=build/sanitize
build_clang_trees() {
  if [[ -n "$run_fuzz" ]]; then
    [[ -n "$keep_build" ]] || rm -rf "$fuzz_build"
    CC=clang CXX=clang++ cmake -S tests/fuzz -B "$fuzz_build" -G Ninja >/dev/null
    local started=$(date +%s)
    cmake --build "$fuzz_build"
    echo "fuzz build: $(($(date +%s) - started)) s"
  fi
  if [[ -n "$run_sanitize" ]]; then
    [[ -n "$keep_build" ]] || rm -rf "$sanitize_build"
    CC=clang CXX=clang++ cmake -S . -B "$sanitize_build" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O0 -gline-tables-only" \
      -DHERALD_SANITIZE=ON -DHERALD_SANITIZE_ACTORS="$sanitize_actors" >/dev/null
    local started=$(date +%s)
    cmake --build "$sanitize_build" --target herald-sanitized-tests
    echo "sanitize build: $(($(date +%s) - started)) s"
  fi
}
clang_log=build/clang-trees.log
mkdir -p build
clang_pid=""
if [[ -n "$run_fuzz$run_sanitize" ]]; then
  nice -n 19 bash -c "$(declare -f build_clang_trees); \
    run_fuzz='$run_fuzz' run_sanitize='$run_sanitize' keep_build='$keep_build' \
    fuzz_build='$fuzz_build' sanitize_build='$sanitize_build' \
    sanitize_actors='$sanitize_actors' build_clang_trees" >"$clang_log" 2>&1 &
  clang_pid=$!
fi

# The test cluster, apart from the development one (scripts/pg.sh).
test_pg() {
  HERALD_PG_DIR="$repo/.herald/test-pg" HERALD_PG_PORT=55433 HERALD_PG_FAST=1 \
    scripts/pg.sh "$@"
}
cleanup() {
  [[ -z "$clang_pid" ]] || kill "$clang_pid" 2>/dev/null || true
  test_pg remove
}
test_pg remove
trap cleanup EXIT
HERALD_TEST_DATABASE_URL=$(test_pg start)
export HERALD_TEST_DATABASE_URL

# Two at a time: most entries wait on sockets and processes, not the CPU
# (tests/CMakeLists.txt keeps the load-heavy ones alone).
args=(--test-dir "$build" --output-on-failure --timeout 900 -j2)
[[ -n "$suite" ]] && args+=(-R "^${suite//./\\.}\$")
started=$(date +%s)
ctest "${args[@]}"
echo "ctest: $(($(date +%s) - started)) s"

# ---- Fuzzing and sanitizers: their runs -------------------------------------
if [[ -n "$clang_pid" ]]; then
  started=$(date +%s)
  if ! wait "$clang_pid"; then
    clang_pid=""
    cat "$clang_log"
    echo "building the fuzz and sanitizer trees failed" >&2
    exit 1
  fi
  clang_pid=""
  grep -E "^(fuzz|sanitize) build:" "$clang_log" || true
  echo "waited for the clang trees after ctest: $(($(date +%s) - started)) s"
fi
checked=(--output-on-failure --timeout 900)
[[ -n "$suite" ]] && checked+=(-R "^${suite//./\\.}\$")

if [[ -n "$run_fuzz" ]]; then
  ctest --test-dir "$fuzz_build" "${checked[@]}"
fi

if [[ -n "$run_sanitize" ]]; then
  # LeakSanitizer stops the process with ptrace to scan it at exit. Where
  # ptrace is refused (containers without CAP_SYS_PTRACE, Yama scope 3) it
  # aborts every run with a fatal error, so leaks are then not checked
  # rather than failing every suite.
  probe=$("$sanitize_build/tests/herald-sanitized-tests" -s core.backoff 2>&1 || true)
  if grep -q "LeakSanitizer has encountered a fatal error" <<<"$probe"; then
    echo "sanitize: LeakSanitizer cannot run here (ptrace refused): leaks unchecked"
    export ASAN_OPTIONS=detect_leaks=0
  fi
  UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$sanitize_build" -L sanitize "${checked[@]}"
fi
