#!/usr/bin/env bash
# Runs the admin console: installs missing build tools, builds the release site, migrates, loads
# the demo data and an admin on the first start, then serves. See README.md.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
scripts/setup-tools.sh

LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1:3000}
ADMIN_USERNAME=${ADMIN_USERNAME:-admin}
export LISTEN_ADDR

printf '\033[1m==> building the console (release)\033[0m\n'
cargo leptos build --release

BIN=target/release/server
export LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD
mkdir -p data
"$BIN" migrate

# First start: the demo data set and an admin with a generated password (kept, owner-only, in
# data/admin-password.txt so later starts can show where it is). ADMIN_PASSWORD overrides.
if [ ! -f data/.demo-loaded ] && [ "${SEED_DEMO:-1}" != 0 ]; then
  "$BIN" seed-demo && touch data/.demo-loaded
fi
if [ ! -f data/admin-password.txt ] || [ -n "${ADMIN_PASSWORD:-}" ]; then
  pw=${ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)}
  ADMIN_PASSWORD="$pw" "$BIN" create-admin "$ADMIN_USERNAME"
  (umask 077; printf '%s\n' "$pw" > data/admin-password.txt)
fi

cat <<MSG

  Admin console: http://$LISTEN_ADDR
  Sign in as:    $ADMIN_USERNAME
  Password:      $(cat data/admin-password.txt)   (stored in data/admin-password.txt)

MSG
exec "$BIN" serve --listen "$LISTEN_ADDR"
