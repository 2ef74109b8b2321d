#!/usr/bin/env bash
# Installs what is missing, builds heraldd, starts the private PostgreSQL
# (scripts/pg.sh) and runs the engine in the foreground, with the demo app
# seeded (scripts/demo-seed.sql) and its inbox at /demo/. Extra arguments go
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

port=8080
admin_port=8081
for arg in "$@"; do
  case "$arg" in
    --http.port=*) port=${arg#*=} ;;
    --admin.port=*) admin_port=${arg#*=} ;;
  esac
done
base=http://127.0.0.1:$port
admin=http://127.0.0.1:$admin_port

# The demo tenant needs the schema heraldd migrates at start: seed it once
# heraldd says it is ready, then say where to look.
(
  for _ in $(seq 1 240); do
    if curl -sf "$base/readyz" >/dev/null 2>&1; then
      psql "$url" -q -v ON_ERROR_STOP=1 -f scripts/demo-seed.sql
      cat <<EOF

  Demo inbox:  $base/demo/          (user ada; ?user=bo or ?user=chen)
  Console:     $admin/console/  (admin listener; sign in with the admin token above)
  Push one:    psql "$url" -c "SELECT herald.publish('demo', 'note', 'user:ada', '{\"title\": \"Hello\", \"body\": \"from psql\"}')"

EOF
      exit 0
    fi
    sleep 0.5
  done
  echo "run.sh: heraldd did not get ready at $base; the demo is not seeded" >&2
) &

exec build/dev/tools/heraldd --database.url="$url" --web.root="$repo/web" \
  --admin.token-file="$token_file" --web.demo-app=demo "$@"
