#!/usr/bin/env bash
# The whole test suite, as CI runs it (see README.md): installs what the tests need, checks
# formatting and lints, runs the Rust tests on SQLite and on PostgreSQL, builds the release site
# and runs the Playwright suite in Chromium against both databases.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
ROOT=$(pwd)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"

step "tools"
scripts/setup-tools.sh
if [ ! -x /usr/bin/chromium ]; then
  step "installing Chromium from Debian (Playwright drives it; no browser download)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  (cd end2end && npm ci --no-audit --no-fund)
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy -p migrations -p app -p server -p tools --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "Rust tests on SQLite"
env -u TEST_DATABASE_URL cargo test -p app -p server

step "Rust tests on PostgreSQL"
PG_URL=$(scripts/postgres.sh)
trap 'scripts/postgres.sh stop' EXIT
echo "using $PG_URL"
# Drop databases left by earlier runs (tests create one per test, named t_… / e2e_…); with
# force, since a test process killed mid-run can leave its sessions open for a while.
psql "$PG_URL" -tAc "select datname from pg_database where datname ~ '^(t|e2e)_[0-9a-f]+$'" |
  while read -r db; do [ -n "$db" ] && psql "$PG_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null; done
TEST_DATABASE_URL="$PG_URL" cargo test -p app -p server

step "fuzzing the CSV core for 120 s (app/tests/fuzz_csv.rs)"
FUZZ_SECONDS=120 cargo test -p app --release --test fuzz_csv -- --nocapture

step "release build (cargo leptos build --release)"
cargo leptos build --release

# A free loopback port for the e2e server, so a console already running here does not collide.
E2E_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export E2E_PORT

step "Playwright in Chromium on SQLite"
rm -rf .tmp/e2e && mkdir -p .tmp/e2e
(cd end2end && E2E_DATABASE_URL="sqlite://$ROOT/.tmp/e2e/console.db?mode=rwc" npx playwright test)

step "Playwright in Chromium on PostgreSQL"
E2E_DB="e2e_$(date +%s)"
psql "$PG_URL" -qc "create database $E2E_DB"
E2E_URL="${PG_URL%/*}/$E2E_DB"
(cd end2end && E2E_DATABASE_URL="$E2E_URL" npx playwright test)
psql "$PG_URL" -qc "drop database if exists $E2E_DB" || true

# The load command (tools/src/bin/load.rs) against a fresh release server on each database.
step "load: 15 s of concurrent sign-ins, previews and commits"
# cargo-leptos built the server with LEPTOS_OUTPUT_NAME set, which leptos reads at compile time
# (option_env!); the same value keeps this build to the new binary instead of rebuilding leptos.
LEPTOS_OUTPUT_NAME=console cargo build --release -p tools --bin load
LOAD_PASSWORD="load-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
export LOAD_PASSWORD
load_against() { # DATABASE_URL
  (
    export DATABASE_URL="$1" ADMIN_PASSWORD="$LOAD_PASSWORD" LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD RUST_LOG=warn
    target/release/server migrate >/dev/null
    target/release/server create-admin load-admin >/dev/null
    target/release/server serve --listen "127.0.0.1:$E2E_PORT" >.tmp/load/server.log 2>&1 &
    pid=$!
    status=0
    target/release/load --url "http://127.0.0.1:$E2E_PORT" --username load-admin --duration 15s --concurrency 16 || status=$?
    kill "$pid"; wait "$pid" 2>/dev/null || true
    [ "$status" = 0 ] || { echo "load failed ($status); server log:"; tail -n 50 .tmp/load/server.log; }
    exit "$status"
  )
}
rm -rf .tmp/load && mkdir -p .tmp/load
echo "on SQLite"
load_against "sqlite://$ROOT/.tmp/load/console.db?mode=rwc"
echo "on PostgreSQL"
LOAD_DB="e2e_$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')"
psql "$PG_URL" -qc "create database $LOAD_DB"
load_against "${PG_URL%/*}/$LOAD_DB"
psql "$PG_URL" -qc "drop database if exists $LOAD_DB" || true

step "all tests passed"
