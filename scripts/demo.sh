#!/usr/bin/env bash
# Starts one of the example servers on http://127.0.0.1:${PORT:-8787}, runs the shared walkthrough
# (scripts/walkthrough.mjs: every rule of docs/HTTP.md, printing each check) against it, then keeps
# serving until interrupted; --exit stops the server after the walkthrough (CI does).
#
#   scripts/demo.sh [worker|deno|axum] [--exit]     (default: worker)
#
#   worker  examples/worker in workerd through Miniflare (authority in a Durable Object)
#   deno    examples/deno on Deno.serve (the Deno binary from pkg/node_modules), Deno KV in memory
#   axum    examples/axum (cargo run, debug build)
#
# The npm package is built from source first (Rust → wasm, installing the pinned wasm-bindgen CLI
# and the npm dev dependencies on first use). The servers run over http://, so with INSECURE=true
# (docs/HTTP.md H2.2: no Secure, cookie wg_refresh) and ORIGIN=http://127.0.0.1:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
server=worker
exit_after=0
for arg in "$@"; do
  case "$arg" in
    worker | deno | axum) server=$arg ;;
    --exit) exit_after=1 ;;
    *) echo "usage: scripts/demo.sh [worker|deno|axum] [--exit]" >&2; exit 2 ;;
  esac
done
port=${PORT:-8787}
base="http://127.0.0.1:$port"
export PORT=$port ORIGIN=$base INSECURE=true LISTEN_HOST=127.0.0.1

if [ "$server" != axum ] && [ "${WEBGATES_SKIP_BUILD:-}" != 1 ]; then # scripts/test.sh built it
  if [ ! -x pkg/node_modules/.bin/miniflare ] || [ pkg/package-lock.json -nt pkg/node_modules/.package-lock.json ]; then
    (cd pkg && npm ci --no-audit --no-fund --loglevel=error)
  fi
  (cd pkg && npm run --silent build)
fi

wait_for=120
set -m # the server gets its own process group: stopping it stops cargo's child or workerd too
case "$server" in
  worker) node examples/worker/demo.mjs --serve & ;;
  deno)
    (cd examples/deno && KV_PATH=:memory: exec ../../pkg/node_modules/.bin/deno run --unstable-kv \
      --allow-net=127.0.0.1 --allow-read --allow-env server.js) &
    ;;
  axum)
    if [ ! -f examples/axum/Cargo.toml ]; then
      echo "demo: examples/axum/Cargo.toml is missing: the axum example is not in this tree" >&2
      exit 1
    fi
    wait_for=900 # the first debug build compiles the dependencies
    cargo run --manifest-path examples/axum/Cargo.toml &
    ;;
esac
pid=$!
stop() { kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

# Wait until it answers (the JWKS route needs no state), or until it died.
for ((i = 0; i < wait_for * 5; i++)); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo: the $server server exited before listening on $base" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$base/.well-known/jwks.json"; then
    break
  fi
  sleep 0.2
done

status=0
node scripts/walkthrough.mjs "$base" --insecure || status=$?
if [ "$exit_after" = 1 ]; then
  exit "$status"
fi
echo "Serving $server on $base (the walkthrough's last step fills the login throttle for a minute). Ctrl-C stops it."
wait "$pid"
