#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, kept in a folder of
# the repository that git ignores. Listens on a unix socket inside that
# folder only, unless --tcp is given.
#
#   scripts/pg.sh start [--tcp]   create on first use, start, print the URL
#   scripts/pg.sh url             print the URL of the database "herald"
#   scripts/pg.sh status          say whether it runs
#   scripts/pg.sh stop [--immediate]  stop it (the data stays); --immediate
#                                 crashes it on purpose (no checkpoint)
#   scripts/pg.sh remove          stop it and delete its folder
#
# HERALD_PG_DIR picks the folder (default .herald/pg), HERALD_PG_PORT the
# port number (default 55432; also names the socket file), HERALD_PG_FAST=1
# turns off durability for throwaway test clusters, HERALD_PG_OPTIONS adds
# server settings (-c name=value ...) at start. Every command is safe to
# run twice. As root, the server runs as Debian's "postgres" system user.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${HERALD_PG_DIR:-$repo/.herald/pg}
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
port=${HERALD_PG_PORT:-55432}
data=$dir/data
socket=$dir/socket
logfile=$dir/postgresql.log
db_user=herald
db_name=herald

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  echo "pg: PostgreSQL server binaries not found; run scripts/deps.sh" >&2
  exit 1
fi

# Runs a server binary as the user who owns the cluster.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  echo "postgresql:///$db_name?host=$socket&port=$port&user=$db_user"
}

is_running() {
  [[ -f "$data/PG_VERSION" ]] && as_owner "$bindir/pg_ctl" -D "$data" status \
    >/dev/null 2>&1
}

create() {
  if (( ${#socket} + 20 > 107 )); then
    echo "pg: the socket path $socket is too long for a unix socket;" \
      "set HERALD_PG_DIR to a shorter folder" >&2
    exit 1
  fi
  mkdir -p "$dir" "$socket"
  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres:postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg: the postgres user cannot reach $dir; make its parent" \
        "folders searchable (chmod o+x) or set HERALD_PG_DIR" >&2
      exit 1
    fi
  fi
  chmod 700 "$socket"
  as_owner "$bindir/initdb" -D "$data" -U "$db_user" --auth=trust \
    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
}

start() {
  local tcp=""
  [[ "${1:-}" == "--tcp" ]] && tcp=1
  if is_running; then
    url
    return
  fi
  [[ -f "$data/PG_VERSION" ]] || create
  local listen="''"
  [[ -n "$tcp" ]] && listen="127.0.0.1"
  local opts="-c listen_addresses=$listen -c port=$port"
  opts+=" -c unix_socket_directories=$socket -c max_connections=300"
  if [[ "${HERALD_PG_FAST:-}" == 1 ]]; then
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  # e.g. "-c shared_preload_libraries=pg_stat_statements" to profile.
  opts+=" ${HERALD_PG_OPTIONS:-}"
  as_owner "$bindir/pg_ctl" -D "$data" -l "$logfile" -o "$opts" -w -t 60 \
    start >/dev/null || {
    tail -n 20 "$logfile" >&2
    exit 1
  }
  if ! "$bindir/psql" "$(url | sed "s|/$db_name?|/postgres?|")" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
    "$bindir/createdb" -h "$socket" -p "$port" -U "$db_user" "$db_name"
  fi
  url
}

stop() {
  local mode=fast
  [[ "${1:-}" == "--immediate" ]] && mode=immediate
  if is_running; then
    as_owner "$bindir/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start "${2:-}" ;;
  url) url ;;
  status)
    if is_running; then echo "running: $(url)"; else echo "stopped"; fi
    ;;
  stop) stop "${2:-}" ;;
  remove)
    stop
    rm -rf "$dir"
    ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
