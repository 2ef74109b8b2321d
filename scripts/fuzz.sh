#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) and runs each in turn, niced.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 60),
#                                           every target when none is named
#   scripts/fuzz.sh --list                  the targets
#
# Inputs that found new coverage are kept in .herald/fuzz/TARGET/corpus (not
# in git) and feed the next run together with the seeds of
# tests/fuzz/corpus/TARGET. Crashes, leaks, timeouts and out-of-memory inputs
# land in .herald/fuzz/TARGET/findings; each is named with the command that
# replays it, and the script then exits 1. A finding worth keeping becomes a
# seed (copy it to tests/fuzz/corpus/TARGET) and a regression test.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

build=build/fuzz
seconds=60
targets=()
list=""
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *[!0-9]*) targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done

export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$repo}"
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" -G Ninja >/dev/null
nice cmake --build "$build"

if ((${#targets[@]} == 0)); then
  for harness in tests/fuzz/*.cpp; do
    targets+=("$(basename "$harness" .cpp)")
  done
fi
if [[ -n "$list" ]]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi

findings_total=0
summary=()
for target in "${targets[@]}"; do
  binary="$build/fuzz_$target"
  [[ -x "$binary" ]] || {
    echo "fuzz: no target '$target' (scripts/fuzz.sh --list)" >&2
    exit 2
  }
  work=".herald/fuzz/$target"
  mkdir -p "$work/corpus" "$work/findings"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$work/findings/")
  dict="tests/fuzz/dict/$target.dict"
  [[ -f "$dict" ]] && options+=(-dict="$dict")
  log="$work/last-run.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  before=$(find "$work/findings" -type f | sort)
  # A finding stops libFuzzer with a non-zero status; the log tells.
  nice "$binary" "${options[@]}" "$work/corpus" "tests/fuzz/corpus/$target" \
    >"$log" 2>&1 || true
  new=$(comm -13 <(echo "$before") <(find "$work/findings" -type f | sort))
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  [[ -n "$done_line" ]] ||
    done_line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  speed=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, features \2, corpus \3/p' \
    <<<"$done_line")
  summary+=("$(printf '%-14s %8s execs/s  %s' "$target" "${speed:-?}" "$cov")")
  if [[ -n "$new" ]]; then
    findings_total=$((findings_total + $(wc -l <<<"$new")))
    grep -E 'ERROR: |fuzz property broken|runtime error' "$log" | head -5 |
      sed 's/^/  /'
    while read -r finding; do
      echo "  replay: $binary $finding"
    done <<<"$new"
  fi
done

echo
echo "fuzz: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if ((findings_total > 0)); then
  echo "fuzz: $findings_total new finding(s) in .herald/fuzz/*/findings"
  exit 1
fi
echo "fuzz: no findings"
