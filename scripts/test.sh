#!/usr/bin/env bash
# The whole test suite. Installs what it needs (rustup components and targets), then runs every
# check. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, wasm32-unknown-unknown"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all --check

step "clippy (all targets, warnings are errors)"
cargo clippy --all-targets -- -D warnings

step "docs (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p webgates-sessions --quiet

step "core builds for wasm32-unknown-unknown"
cargo build -p webgates-sessions --target wasm32-unknown-unknown

step "core's wasm32 dependency tree has no JS glue and no async runtime"
tree=$(cargo tree -p webgates-sessions --target wasm32-unknown-unknown -e normal --prefix none)
forbidden=$(printf '%s\n' "$tree" | grep -E '^(wasm-bindgen|js-sys|web-sys|tokio|async-std|smol|getrandom|futures-executor) ' || true)
if [ -n "$forbidden" ]; then
  echo "forbidden dependencies in the core's wasm32 tree:"; echo "$forbidden"; exit 1
fi
echo "ok: $(printf '%s\n' "$tree" | sort -u | wc -l) crates, none forbidden"

step "native tests (unit, integration, doc)"
cargo test --all-targets
cargo test --doc

step "example walkthrough"
cargo run --quiet --example lifecycle >/dev/null
echo "ok: examples/lifecycle.rs ran to completion"
