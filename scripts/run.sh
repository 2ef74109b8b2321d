#!/usr/bin/env bash
# Installs what is missing, builds heraldd, starts the private PostgreSQL
# (scripts/pg.sh) and runs the engine in the foreground. Extra arguments go
# to heraldd, e.g. scripts/run.sh --http.port=9000 --log.level=debug.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/deps.sh
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/dev --target heraldd

url=$(scripts/pg.sh start)
echo "PostgreSQL: $url"
echo "            (psql \"$url\"; scripts/pg.sh stop to stop it)"
exec build/dev/tools/heraldd --database.url="$url" --web.root="$repo/web" "$@"
