#!/usr/bin/env bash
# Benchmarks Herald side by side with the peers a user would pick instead,
# on this machine: builds heraldd and herald-bench, installs the peers
# (Debian packages, npm) into .herald/bench, runs the scenarios (idle,
# fan-out, database to browser, reconnect storm, broadcast to a million
# users, catch-up after being offline) and writes the report.
#
#   scripts/bench.sh                  everything (about 20 min): JSON results in
#                                     .herald/bench/results, docs/benchmarks.md
#   scripts/bench.sh --quick          Herald only, small sizes (under 2 min),
#                                     checks that the results are well-formed
#   scripts/bench.sh --systems herald --scenarios idle,storm   a subset
#   scripts/bench.sh --merge --systems pushpin   add one system to the last results
#
# Every option is passed to bench/run.py (--help lists them).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

case "${1:-}" in
  -h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

bash scripts/deps.sh
build=${HERALD_BENCH_BUILD:-build/dev}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target heraldd herald-bench

export HERALDD="$repo/$build/tools/heraldd"
export HERALD_BENCH="$repo/$build/tools/herald-bench"
# Debian's interpreter, standard library only.
exec /usr/bin/python3 bench/run.py "$@"
