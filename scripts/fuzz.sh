#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets in fuzz/ and runs each for a bounded time.
# Installs what it needs on a fresh machine (the nightly toolchain, minimal profile, and
# cargo-fuzz from crates.io).
#
# Usage: scripts/fuzz.sh                      # every target, 20 s each
#        FUZZ_SECONDS=300 scripts/fuzz.sh     # longer
#        FUZZ_TARGETS="import_jwk" scripts/fuzz.sh
#        FUZZ_SANITIZER=none scripts/fuzz.sh  # faster, no AddressSanitizer (default: address)
#
# Per target it prints libFuzzer's executed-unit count and final coverage line, and it writes
# target/fuzz-summary.json: {"<target>": {"seconds" (measured), "budget_seconds", "execs",
# "execs_per_sec", "crashes" (all, known included), "known_crashes", "known_bugs" (inputs under
# fuzz/artifacts-found/<target>/ that still reproduce), "status" (ok, known-crash, crash), "cov",
# "ft" (libFuzzer's edge and feature counts), "final_line"}, ...}.
# Logs go to target/fuzz-logs/<target>.log.
#
# Crashes: a new crash input lands in fuzz/artifacts/<target>/ and the run exits non-zero.
# A crash already reported as a bug is kept under fuzz/artifacts-found/<target>/: each is
# replayed first and reported (still reproduces / no longer reproduces), and a fuzzing crash
# at the same panic location as a known one is reported as known instead of
# failing the run. Delete the artifact once the bug is fixed.
#
# The seed corpus fuzz/corpus/<target>/ is read, never written: what the fuzzer finds goes to
# fuzz/target/corpus-work/<target>/ (kept between runs, not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-address}
read -r -a targets <<<"${FUZZ_TARGETS:-verify_access_token parse_refresh_token import_jwk decode_records}"
triple=x86_64-unknown-linux-gnu
target_dir="$root/fuzz/target"
bin_dir="$target_dir/$triple/release"
log_dir="$root/target/fuzz-logs"
summary="$root/target/fuzz-summary.json"

step() { printf '\n==> %s\n' "$*"; }

case $seconds in '' | *[!0-9]* | 0) echo "FUZZ_SECONDS must be a whole number of seconds, at least 1" >&2; exit 2 ;; esac

step "toolchain: nightly, cargo-fuzz"
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi
echo "ok: $(cargo +nightly --version), $(cargo fuzz --version)"

mkdir -p "$log_dir"

step "build (release, debug assertions, sanitizer: $sanitizer)"
build_start=$(date +%s)
if ! cargo +nightly fuzz build --release --debug-assertions --sanitizer "$sanitizer" \
  --target-dir "$target_dir" >"$log_dir/build.log" 2>&1; then
  tail -40 "$log_dir/build.log"
  echo "fuzz build failed (log: $log_dir/build.log)" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  [ -x "$bin_dir/$t" ] || { echo "no fuzz target named $t" >&2; exit 1; }
done
echo "ok: built in $(($(date +%s) - build_start)) s"

# What identifies a crash: the panic location "<file>:<line>:<col>" (messages may quote the
# input), else the sanitizer's summary line, else libFuzzer's error line, else empty.
signature() {
  local log=$1 sig
  sig=$(grep -m1 -Eo 'panicked at [^ ]+:[0-9]+:[0-9]+' "$log" | sed 's/^panicked at //' || true)
  [ -n "$sig" ] || sig=$(grep -m1 -E '^SUMMARY: ' "$log" || true)
  [ -n "$sig" ] || sig=$(grep -m1 -E '^==[0-9]+== ERROR: libFuzzer: ' "$log" | sed 's/^==[0-9]*== //' || true)
  printf '%s' "$sig"
}

json_escape() { printf '%s' "$1" | tr '\t\r\n' '   ' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
# The value of "<name>: <n>" in libFuzzer's status line, or 0.
field() { printf '%s' "$1" | grep -Eo "$2: [0-9]+" | grep -Eo '[0-9]+$' || echo 0; }

failed=0
known_total=0
entries=()
for t in "${targets[@]}"; do
  step "$t: ${seconds} s"
  bin="$bin_dir/$t"

  # Known bugs: replay each kept crash input, remember its panic signature.
  known_sigs=()
  known_open=0
  if [ -d "fuzz/artifacts-found/$t" ]; then
    for f in "fuzz/artifacts-found/$t"/*; do
      [ -f "$f" ] || continue
      replay_log="$log_dir/$t.replay.$(basename "$f").log"
      if "$bin" -runs=1 "$f" >"$replay_log" 2>&1; then
        echo "known bug input $f no longer reproduces: fixed? delete it"
      else
        sig=$(signature "$replay_log")
        known_sigs+=("$sig")
        known_open=$((known_open + 1))
        known_total=$((known_total + 1))
        echo "KNOWN BUG still reproduces: $f"
        echo "    $sig"
      fi
    done
  fi

  work="$target_dir/corpus-work/$t"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  log="$log_dir/$t.log"
  : >"$log"
  start=$(date +%s%N)
  execs=0 crashes=0 known=0 status=ok cov=""
  # Fuzz until the time is spent: a crash that matches a known bug is reported and fuzzing goes
  # on for the rest of the time (libFuzzer stops at every crash); a new crash ends the target.
  for attempt in $(seq 1 50); do
    left=$((seconds - ($(date +%s%N) - start) / 1000000000))
    [ "$attempt" -eq 1 ] || [ "$left" -ge 2 ] || break
    [ "$left" -ge 1 ] || left=1
    run_log="$log_dir/$t.run$attempt.log"
    rc=0
    "$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$t" >"$run_log" 2>&1 || rc=$?
    n=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$run_log" | tail -1 | grep -Eo '[0-9]+$' || true)
    [ -n "$n" ] || n=$(grep -Eo '^#[0-9]+' "$run_log" | tail -1 | tr -d '#' || true)
    execs=$((execs + ${n:-0}))
    c=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$run_log" | tail -1 || true)
    [ -z "$c" ] || cov=$c
    cat "$run_log" >>"$log"
    if [ "$rc" -eq 0 ]; then rm -f "$run_log"; break; fi
    crashes=$((crashes + 1))
    sig=$(signature "$run_log")
    artifact=$(grep -Eo 'Test unit written to [^ ]+' "$run_log" | tail -1 | sed 's/Test unit written to //' || true)
    is_known=0
    for k in "${known_sigs[@]+"${known_sigs[@]}"}"; do
      [ -n "$sig" ] && [ "$sig" = "$k" ] && is_known=1
    done
    if [ "$is_known" -eq 1 ]; then
      known=$((known + 1))
      [ "$status" = crash ] || status="known-crash"
      echo "KNOWN BUG hit again (not a failure): $sig"
      [ -z "$artifact" ] || rm -f "$artifact"
      rm -f "$run_log"
      continue
    fi
    status=crash failed=1
    echo "CRASH in $t (exit $rc): ${sig:-see log}"
    echo "    input: ${artifact:-none written}   log: $log"
    [ -z "$artifact" ] || echo "    reproduce: $bin $artifact"
    grep -A12 -m1 -E 'panicked at |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$run_log" | sed 's/^/    | /' || true
    echo "    once reported as a bug, keep the input as fuzz/artifacts-found/$t/<name> so later"
    echo "    runs report it as known instead of failing"
    rm -f "$run_log"
    break
  done
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  secs=$(printf '%d.%01d' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)))
  per_sec=$((execs * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1)))
  echo "execs: $execs in $secs s ($per_sec/s)"
  echo "coverage: ${cov:-none}"
  entries+=("$(printf '"%s": {"seconds": %s, "budget_seconds": %s, "execs": %s, "execs_per_sec": %s, "crashes": %s, "known_crashes": %s, "known_bugs": %s, "status": "%s", "cov": %s, "ft": %s, "final_line": "%s"}' \
    "$t" "$secs" "$seconds" "$execs" "$per_sec" "$crashes" "$known" "$known_open" "$status" \
    "$(field "$cov" cov)" "$(field "$cov" ft)" "$(json_escape "$cov")")")
done

{
  echo "{"
  for i in "${!entries[@]}"; do
    sep=","; [ "$i" -eq $((${#entries[@]} - 1)) ] && sep=""
    echo "  ${entries[$i]}$sep"
  done
  echo "}"
} >"$summary"

step "summary: $summary"
cat "$summary"
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found a new crash: see above" >&2
  exit 1
fi
if [ "$known_total" -gt 0 ]; then
  echo "ok: no new crash; $known_total known bug input(s) under fuzz/artifacts-found/ still reproduce (see fuzz/README.md)"
else
  echo "ok: no new crash"
fi
