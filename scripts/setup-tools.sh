#!/usr/bin/env bash
# Installs the build tools the console needs when they are missing (fresh Debian with rustup,
# cargo, node and npm). Safe to run every time: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $LEPTOS_VERSION"; then
  say "installing cargo-leptos $LEPTOS_VERSION (about 11 minutes on 2 cores, once)"
  cargo install cargo-leptos --locked --version "$LEPTOS_VERSION"
fi

# Without --locked: its lock file names a crate version the registry no longer serves.
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# Release builds run wasm-opt; cargo-leptos would otherwise try to download one and fail.
# binaryen from npm ships it; install it into the repo, not globally.
if ! command -v wasm-opt >/dev/null 2>&1 && [ ! -x .tools/node_modules/.bin/wasm-opt ]; then
  say "installing wasm-opt (binaryen from npm) into .tools/"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent binaryen@132 >&2
fi
