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
cargo clippy -p migrations -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "Rust tests on SQLite"
env -u TEST_DATABASE_URL cargo test -p app -p server

step "Rust tests on PostgreSQL"
PG_URL=$(scripts/postgres.sh)
trap 'scripts/postgres.sh stop' EXIT
echo "using $PG_URL"
# Drop databases left by earlier runs (tests create one per test, named t_… / e2e_…).
psql "$PG_URL" -tAc "select datname from pg_database where datname ~ '^(t|e2e)_[0-9a-f]+$'" |
  while read -r db; do [ -n "$db" ] && psql "$PG_URL" -qc "drop database if exists \"$db\"" >/dev/null; done
TEST_DATABASE_URL="$PG_URL" cargo test -p app -p server

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

step "all tests passed"
