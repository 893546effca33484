#!/usr/bin/env bash
# start-postgres.sh - throw-away PostgreSQL (Debian postgresql-15) on 127.0.0.1 for tests,
# run as the 'postgres' OS user from a data dir under $PG_BASE. Idempotent.
#   stop:  runuser -u postgres -- $PG_BIN/pg_ctl -D $PG_BASE/data -m fast -w stop
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BASE=${PG_BASE:-$SCRIPT_DIR/postgres}
PG_PORT=${PG_PORT:-5499}
PG_USER=${PG_USER:-optuna}; PG_PASS=${PG_PASS:-optuna}; PG_DBS=${PG_DBS:-"optuna mlflow"}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
mkdir -p "$PG_BASE"; chown postgres:postgres "$PG_BASE"; chmod 755 "$PG_BASE"
as_pg() { runuser -u postgres -- "$@"; }
if [ ! -s "$PG_BASE/data/PG_VERSION" ]; then
  as_pg "$PG_BIN/initdb" -D "$PG_BASE/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$PG_BASE/initdb.log"
fi
if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_BASE/data" status >/dev/null 2>&1; then
  as_pg "$PG_BIN/pg_ctl" -D "$PG_BASE/data" -l "$PG_BASE/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_BASE -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start </dev/null >/dev/null 9>&-
fi
psql_() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
[ "$(psql_ -c "select 1 from pg_roles where rolname='$PG_USER'")" = 1 ] \
  || psql_ -c "CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASS'"
for db in $PG_DBS; do
  [ "$(psql_ -c "select 1 from pg_database where datname='$db'")" = 1 ] \
    || psql_ -c "CREATE DATABASE $db OWNER $PG_USER"
done
echo "postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/<db>   (dbs: $PG_DBS)"
