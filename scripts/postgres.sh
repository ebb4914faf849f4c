#!/usr/bin/env bash
# Finds a PostgreSQL server for the test suite and prints its admin URL on stdout.
# Order: $TEST_DATABASE_URL; the machine's server on 127.0.0.1:5432 (trust auth, database test);
# otherwise a throwaway cluster from Debian's postgresql package, started under .tmp/ and stopped
# by `scripts/postgres.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PGDIR="$ROOT/.tmp/pg"
PORT=54329
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$d" ] && echo "$d"
}

if [ "${1:-}" = "stop" ]; then
  if [ -f "$PGDIR/data/postmaster.pid" ]; then
    bin=$(pg_bin)
    runuser -u postgres -- "$bin/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
  fi
  exit 0
fi

answers() { # url -> does a trust-auth connection work?
  command -v psql >/dev/null 2>&1 || return 1
  psql "$1" -tAc 'select 1' >/dev/null 2>&1
}

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "$TEST_DATABASE_URL"; exit 0
fi
install_postgres() {
  local sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
  say "installing Debian's postgresql package"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}
# psql is needed to probe (and comes with the server package).
command -v psql >/dev/null 2>&1 && [ -n "$(pg_bin)" ] || install_postgres
if answers "postgres://postgres@127.0.0.1:5432/test"; then
  echo "postgres://postgres@127.0.0.1:5432/test"; exit 0
fi
if answers "postgres://postgres@127.0.0.1:$PORT/postgres"; then
  echo "postgres://postgres@127.0.0.1:$PORT/postgres"; exit 0
fi

say "no PostgreSQL answered on 127.0.0.1:5432: starting a throwaway cluster on port $PORT"
bin=$(pg_bin)
RUN=(); [ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)   # initdb refuses to run as root
rm -rf "$PGDIR"; mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown -R postgres "$PGDIR"
"${RUN[@]}" "$bin/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
"${RUN[@]}" "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
echo "postgres://postgres@127.0.0.1:$PORT/postgres"
