#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the run store's tests (idempotent) and prints its
# SQLAlchemy URL on stdout. Debian's postgresql package provides the binaries (.ci/install.sh installs it).
set -euo pipefail

PORT="${RETAINWISE_PG_PORT:-55432}"
DATA="${RETAINWISE_PG_DATA:-/tmp/retainwise-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
URL="postgresql+psycopg://retainwise:retainwise@127.0.0.1:$PORT/retainwise"
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_pg() {  # initdb and postgres refuse to run as root
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  echo "$URL"; exit 0
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$DATA"
  as_pg "'$BIN/initdb' -D '$DATA' -U postgres --auth=trust -E UTF8 >/dev/null"
fi
as_pg "'$BIN/pg_ctl' -D '$DATA' -l '$DATA/server.log' -w -t 60 -o \"-h 127.0.0.1 -p $PORT -k /tmp -c fsync=off\" start >/dev/null"
as_pg "'$BIN/psql' -h 127.0.0.1 -p $PORT -U postgres -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='retainwise'\" | grep -q 1 \
  || '$BIN/psql' -h 127.0.0.1 -p $PORT -U postgres -qc \"CREATE ROLE retainwise LOGIN PASSWORD 'retainwise' CREATEDB\" >/dev/null"
as_pg "'$BIN/psql' -h 127.0.0.1 -p $PORT -U postgres -qtAc \"SELECT 1 FROM pg_database WHERE datname='retainwise'\" | grep -q 1 \
  || '$BIN/createdb' -h 127.0.0.1 -p $PORT -U postgres -O retainwise retainwise"
echo "$URL"
