#!/usr/bin/env bash
# Native benchmarks and the performance budget: builds and runs benches/native.rs (criterion,
# release profile) and writes target/bench/native.json (median ns/op and ops/s per benchmark,
# the budget ratios with their targets and whether each is met).
#
# Usage: scripts/bench-native.sh [criterion args]     e.g. scripts/bench-native.sh verify
# The run itself takes about 1.5 minutes (criterion settings are in benches/native.rs); the
# first build of the bench binary (fat LTO, codegen-units = 1) takes a few minutes more.
# Timings on a shared machine are noisy: compare ratios from one run, not absolute numbers
# across runs. A filter skips benchmarks; their entries and ratios are left out (never stale).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench --bench native -- "$@"

out="${CARGO_TARGET_DIR:-target}/bench/native.json"
[ -f "$out" ] || { echo "no results at $out" >&2; exit 1; }
echo "results: $out"
