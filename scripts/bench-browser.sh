#!/usr/bin/env bash
# Browser benchmark (issue 3, 6a): the WASM core beside PapaParse and uDSV in headless Chromium on
# generated 10k / 100k / 1M-row files, then a real 1M-row preview through the page and server
# (a database holding the file's 1,000,000 users; or, with BENCH_SCENARIO=segments, its 200,000
# users and its memberships). Prints numbers; asserts no timings.
set -euo pipefail
# A relative BENCH_BASELINE_DIR names a directory from where the script was started.
if [ -n "${BENCH_BASELINE_DIR:-}" ]; then BENCH_BASELINE_DIR=$(realpath "$BENCH_BASELINE_DIR"); fi
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-tools.sh
[ -d end2end/node_modules/@playwright/test ] || (cd end2end && npm ci --no-audit --no-fund)
cargo leptos build --release
# BENCH_BASELINE_PKG=DIR: another build's target/site/pkg (copied aside before switching builds),
# served as /pkg-baseline so the core bench times both builds in the same interleaved runs.
rm -rf target/site/pkg-baseline
if [ -n "${BENCH_BASELINE_PKG:-}" ]; then cp -r "$BENCH_BASELINE_PKG" target/site/pkg-baseline; fi
ROOT=$(pwd); B="$ROOT/.tmp/bench"; rm -rf "$B"; mkdir -p "$B"
# BENCH_NAMES=1: this build's WebAssembly with its function names (the release pkg has none), so
# BENCH_PROFILE's profiles name Rust functions, not wasm-function[N]. The same frontend.wasm goes
# through wasm-bindgen and `wasm-opt -O3 -g` (the release build's optimisation, names kept) into a
# copy of the site under $B/named, which the runs serve; target/site is left as built.
if [ -n "${BENCH_NAMES:-}" ]; then
  [ -z "${BENCH_BASELINE_DIR:-}" ] || { echo "BENCH_NAMES and BENCH_BASELINE_DIR do not go together" >&2; exit 2; }
  mkdir -p "$B/named/gen"; cp target/release/server "$B/named/server"; cp -r target/site "$B/named/site"
  wasm-bindgen --target web --out-name console --no-typescript --out-dir "$B/named/gen" \
    target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm
  wasm-opt -O3 -g --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$B/named/gen/console_bg.wasm" -o "$B/named/site/pkg/console.wasm"
  sed 's/console_bg\.wasm/console.wasm/g' "$B/named/gen/console.js" >"$B/named/site/pkg/console.js"
  export E2E_SERVER_DIR="$B/named"
fi
export DATABASE_URL="sqlite://$B/console.db?mode=rwc" RUST_LOG=warn
BIN=target/release/server
# Against another build the database is made by that build: a build refuses a database that a
# newer one has migrated (an applied migration it has no file for), while the newer build only
# adds its own. This build then gets a copy of it (below).
if [ -n "${BENCH_BASELINE_DIR:-}" ]; then BIN="$BENCH_BASELINE_DIR/server"; fi
$BIN migrate >/dev/null
# BENCH_SCENARIO=segments: the re-upload case of issue 13's first row instead (1,000,000 rows over
# 200,000 distinct users and 20 segments, committed once before, so the segments hold the file's
# memberships and the preview asks them per user).
SCENARIO=${BENCH_SCENARIO:-distinct}
node -e '
const fs = require("fs"); const n = 1_000_000; const B = process.argv[1]; const scenario = process.argv[2];
const distinct = scenario === "segments" ? 200_000 : n;
const seg = new Set(); const users = ["username,firstname,lastname,email"]; const file = ["username,cohort1,cohort2,cohort3,cohort4,cohort5"];
for (let i = 0; i < distinct; i++) users.push(`learner.${i.toString(36)}.${i % 97}@corp,Learner,${i},l${i}@example.com`);
for (let i = 0; i < n; i++) {
  const j = i % distinct; const u = `learner.${j.toString(36)}.${j % 97}@corp`;
  const cells = scenario === "segments"
    ? [0, 1, 2, 3, 4].map((k) => `seg-${(j + k) % 20}`)
    : [`dept-${i % 12}`, `site-${i % 7}`, `role-${i % 5}`, `cohort-2026-${i % 3}`, `team-${i % 40}`];
  cells.forEach((c) => seg.add(c));
  file.push(`${u},${cells.join(",")}`);
}
fs.writeFileSync(`${B}/users.csv`, users.join("\n") + "\n");
fs.writeFileSync(`${B}/1m.csv`, file.join("\r\n") + "\r\n");
fs.writeFileSync(`${B}/segments.txt`, [...seg].join("\n") + "\n");
' "$B" "$SCENARIO"
while read -r s; do $BIN segment create "$s" "Segment $s" >/dev/null; done < "$B/segments.txt"
echo "==> loading the file's users through upload-users (add-new)"
time $BIN upload-users "$B/users.csv" --upload-type add-new | sed -n 1,3p
if [ "$SCENARIO" = segments ]; then
  echo "==> committing the file once, so its segments hold its memberships"
  time $BIN upload-users "$B/1m.csv" | sed -n 1,3p
fi
cd end2end
export BENCH_FILE="$B/1m.csv" E2E_DATABASE_URL="$DATABASE_URL" E2E_PORT=${E2E_PORT:-3117}
if [ -z "${BENCH_BASELINE_DIR:-}" ]; then
  npx playwright test -c bench/bench.config.ts --reporter=list
  exit
fi
for f in console.db console.db-wal; do [ -f "$B/$f" ] && cp "$B/$f" "$B/this-$f"; done
# BENCH_BASELINE_DIR=DIR: another build's `server` binary and `site` directory (copied aside
# before switching builds). Only the 1M preview runs, BENCH_PREVIEW_RUNS times (default 5) for
# each build, alternating, against the same database; the medians of the page's own figures are
# printed. (The core bench compares builds through BENCH_BASELINE_PKG.)
for run in $(seq "${BENCH_PREVIEW_RUNS:-5}"); do
  for build in baseline this; do
    dir=""; db="sqlite://$B/this-console.db?mode=rwc"
    if [ "$build" = baseline ]; then dir="$BENCH_BASELINE_DIR"; db="$DATABASE_URL"; fi
    E2E_SERVER_DIR="$dir" E2E_DATABASE_URL="$db" npx playwright test -c bench/bench.config.ts --reporter=list -g '1M-row file' \
      >"$B/preview-$build-$run.log" 2>&1 || { cat "$B/preview-$build-$run.log"; exit 1; }
    echo "$build, run $run: $(grep -E '^preview:|^page thread|^look-up calls|^membership calls|^whole membership calls' "$B/preview-$build-$run.log" | tr '\n' ' ')"
  done
done
# The page's line: "… checked in T ms (read R, parse P, server look-ups L, validate V)".
node -e '
const fs = require("fs"); const [B, runs] = process.argv.slice(1);
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const build of ["baseline", "this"]) {
  const figs = [];
  for (let r = 1; r <= +runs; r++) {
    const log = fs.readFileSync(`${B}/preview-${build}-${r}.log`, "utf8");
    const line = log.split("\n").find((l) => l.startsWith("preview:")) ?? "";
    const m = line.match(/checked in (\d+) ms \(read (\d+), parse (\d+), server look-ups (\d+), validate (\d+)\)/);
    const long = log.match(/^page thread: longest task (\d+) ms/m);
    if (m) figs.push([...m.slice(1).map(Number), long ? +long[1] : NaN]);
  }
  if (figs.length === 0) { console.log(`${build}: no run printed the page line; see ${B}/preview-${build}-*.log`); continue; }
  const cols = figs[0].map((_, i) => med(figs.map((f) => f[i]).filter((x) => !Number.isNaN(x))));
  console.log(`${build}: median of ${figs.length} runs: preview ${cols[0]} ms (read ${cols[1]}, parse ${cols[2]}, waiting for answers ${cols[3]}, validate ${cols[4]}); longest task of the page thread ${cols[5]} ms`);
}' "$B" "${BENCH_PREVIEW_RUNS:-5}"
