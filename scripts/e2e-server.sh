#!/usr/bin/env bash
# Started by Playwright (end2end/playwright.config.ts): a fresh database, the e2e admin, the demo
# data, then the release server on $E2E_PORT. DATABASE_URL comes from the caller.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/server SITE=target/site
# E2E_SERVER_DIR: a directory holding another build's `server` binary and `site` (the browser
# bench's BENCH_BASELINE_DIR: two builds' previews timed against one database).
if [ -n "${E2E_SERVER_DIR:-}" ]; then BIN="$E2E_SERVER_DIR/server" SITE="$E2E_SERVER_DIR/site"; fi
export LEPTOS_SITE_ROOT="$SITE" LEPTOS_ENV=PROD RUST_LOG=${RUST_LOG:-warn}
export ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD"
"$BIN" migrate >/dev/null
"$BIN" create-admin "$E2E_ADMIN" >/dev/null
"$BIN" seed-demo >/dev/null
exec "$BIN" serve --listen "127.0.0.1:$E2E_PORT"
