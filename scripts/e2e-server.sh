#!/usr/bin/env bash
# Started by Playwright (end2end/playwright.config.ts): a fresh database, the e2e admin, the demo
# data, then the release server on $E2E_PORT. DATABASE_URL comes from the caller.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/server
export LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD RUST_LOG=${RUST_LOG:-warn}
export ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD"
"$BIN" migrate >/dev/null
"$BIN" create-admin "$E2E_ADMIN" >/dev/null
"$BIN" seed-demo >/dev/null
exec "$BIN" serve --listen "127.0.0.1:$E2E_PORT"
