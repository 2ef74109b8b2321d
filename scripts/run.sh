#!/usr/bin/env bash
# Installs what is missing, builds heraldd, starts the private PostgreSQL
# (scripts/pg.sh) and runs the engine in the foreground. Extra arguments go
# to heraldd, e.g. scripts/run.sh --http.port=9000 --log.level=debug.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/deps.sh
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/dev --target heraldd heraldctl

url=$(scripts/pg.sh start)
echo "PostgreSQL: $url"
echo "            (psql \"$url\"; scripts/pg.sh stop to stop it)"

# The operator's token for the admin API, made once and kept.
token_file=.herald/admin-token
if [[ ! -s "$token_file" ]]; then
  mkdir -p .herald
  (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$token_file")
fi
echo "Admin API: Authorization: Bearer $(cat "$token_file")  (kept in $token_file)"
exec build/dev/tools/heraldd --database.url="$url" --web.root="$repo/web" \
  --admin.token="$(cat "$token_file")" "$@"
