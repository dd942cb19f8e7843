#!/usr/bin/env bash
# The main job: builds the npm package from source (Rust → wasm, installing the pinned
# wasm-bindgen CLI and the npm dev dependencies on first use), then starts the example Worker — the
# auth authority, with session state in a Durable Object — in the real Workers runtime (workerd,
# through Miniflare) on http://127.0.0.1:${PORT:-8787}. It walks through login → /me → refresh →
# replay of the old refresh token → a new login → logout, printing each HTTP exchange, then keeps
# serving until interrupted. Pass --exit to stop after the walkthrough (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x pkg/node_modules/.bin/miniflare ] || [ pkg/package-lock.json -nt pkg/node_modules/.package-lock.json ]; then
  (cd pkg && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd pkg && npm run --silent build)
exec node examples/worker/demo.mjs "$@"
