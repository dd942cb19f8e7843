#!/usr/bin/env bash
# The whole test suite. Installs what it needs on a fresh machine (rustup components and the
# wasm32 target, the wasm-bindgen CLI at the version Cargo.lock pins, the npm dev dependencies:
# binaryen, Deno, workerd via Miniflare, jose, TypeScript; nightly and cargo-fuzz for the fuzz
# smoke run; PostgreSQL and Redis from the OS packages, started on 127.0.0.1 by scripts/engines.sh),
# builds the release wasm once, then
# runs every check. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "engines: PostgreSQL, Redis and a three-node Redis Cluster on 127.0.0.1 (stopped on exit)"
# shellcheck source=scripts/engines.sh
source scripts/engines.sh
engines_start

step "toolchain: rustfmt, clippy, wasm32-unknown-unknown"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all --check

step "clippy (core natively and on wasm32, bindings on wasm32; warnings are errors)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p webgates-sessions --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p webgates-sessions-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p webgates-sessions-wasm --all-targets --no-default-features --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p webgates-sessions-wasm --all-targets --features conformance --target wasm32-unknown-unknown -- -D warnings

step "docs (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p webgates-sessions --quiet

step "core builds for wasm32-unknown-unknown"
cargo build -p webgates-sessions --target wasm32-unknown-unknown

step "core's wasm32 dependency tree has no JS glue, no async runtime and no database driver"
tree=$(cargo tree -p webgates-sessions --target wasm32-unknown-unknown -e normal --prefix none)
forbidden=$(printf '%s\n' "$tree" | grep -E '^(wasm-bindgen|js-sys|web-sys|tokio|async-std|smol|getrandom|futures-executor|sqlx|sqlx-core|redis|axum|hyper|reqwest|tower|http) ' || true)
if [ -n "$forbidden" ]; then
  echo "forbidden dependencies in the core's wasm32 tree:"; echo "$forbidden"; exit 1
fi
echo "ok: $(printf '%s\n' "$tree" | sort -u | wc -l) crates, none forbidden"

step "native tests (unit, integration, doc)"
cargo test --all-targets
cargo test --doc

step "store crates against the real engines (PostgreSQL, SQLite file, Redis, Redis Cluster)"
cargo clippy -p webgates-sessions-sqlx -p webgates-sessions-redis -p webgates-sessions-stores-tests --all-targets -- -D warnings
cargo test -p webgates-sessions-sqlx -p webgates-sessions-redis -p webgates-sessions-stores-tests

step "HTTP layer: webgates-sessions-axum over real sockets (memory store, SQLite file, local JWKS servers)"
cargo clippy -p webgates-sessions-axum -p webgates-sessions-axum-example --all-targets -- -D warnings
cargo clippy -p webgates-sessions-axum --no-default-features --all-targets -- -D warnings
cargo test -p webgates-sessions-axum

step "example walkthrough (native)"
cargo run --quiet --example lifecycle >/dev/null
echo "ok: examples/lifecycle.rs ran to completion"

step "fuzz smoke run: every cargo-fuzz target for 10 s (installs nightly and cargo-fuzz if missing)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh

step "npm dependencies (pkg/)"
(cd pkg && npm ci --no-audit --no-fund --loglevel=error)

step "build the package: release wasm, wasm-bindgen glue, wasm-opt (installs the pinned CLI if missing)"
(cd pkg && npm run --silent build)

step "wasm-bindgen tests of the bindings (Node): full module, then the verifier-only module"
cargo test -p webgates-sessions-wasm --target wasm32-unknown-unknown
cargo test -p webgates-sessions-wasm --no-default-features --target wasm32-unknown-unknown --test parity

step "package tests: Node, Deno (real Deno KV), workerd (Miniflare), TypeScript declarations"
(cd pkg && npm test)

step "npm pack, install the tarball into a fresh consumer, import by name"
(cd pkg && node scripts/pack-test.mjs)

step "main job walkthrough (docs/HTTP.md) against the example Worker in workerd, the Deno example and the axum example"
WEBGATES_SKIP_BUILD=1 scripts/demo.sh worker --exit | tail -n 2
WEBGATES_SKIP_BUILD=1 scripts/demo.sh deno --exit | tail -n 2
scripts/demo.sh axum --exit | tail -n 2
echo "ok: the walkthrough passed against the Worker, Deno and axum examples"
