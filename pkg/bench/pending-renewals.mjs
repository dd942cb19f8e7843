// What a pending renewal holds in wasm memory: N renewals started at once against a store whose
// reads stall (as a slow Durable Object or database would), the linear memory's growth divided by
// N; then, in a fresh process (linear memory never shrinks, so a second measurement in the same
// instance would reuse the first one's pages), the same with the renewals waiting on a claims
// hook (after the session read and the lease write). Prints bytes per pending renewal for each.
//   node bench/pending-renewals.mjs [N=20000]     (from pkg/, after npm run build)
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Authority, MemoryStore, generateSigningKey } from "../src/node.js";
import { initSync } from "../wasm/webgates_sessions_wasm.js";

const N = Number(process.argv[2] ?? 20_000);
const MODE = process.argv[3];
if (MODE === undefined) {
  for (const mode of ["store", "hook"]) {
    process.stdout.write(execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(N), mode], { encoding: "utf8" }));
  }
  process.exit(0);
}
const wasm = initSync(); // already initialised by node.js: the instance's exports
const key = generateSigningKey();

/** A MemoryStore whose get() calls wait for release() while `stall` is on. */
class StallingStore extends MemoryStore {
  stall = false;
  waiting = [];
  async get(k) {
    if (this.stall) await new Promise((resolve) => this.waiting.push(resolve));
    return super.get(k);
  }
  release() {
    this.stall = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

async function measure(label, { hook }) {
  const store = new StallingStore();
  const gate = { on: false, waiting: [] };
  const claimsHook = hook
    ? async (_s, claims) => {
        if (gate.on) await new Promise((resolve) => gate.waiting.push(resolve));
        return claims;
      }
    : undefined;
  const authority = new Authority({ issuer: "https://a.example", audience: "api", signingKeys: [key], store, ...(claimsHook ? { claimsHook } : {}) });
  const tokens = [];
  for (let i = 0; i < N; i++) tokens.push((await authority.issue({ subject: `u${i}`, claims: { role: "member" } })).refreshToken);
  const before = wasm.memory.buffer.byteLength;
  if (hook) gate.on = true;
  else store.stall = true;
  const pending = tokens.map((t) => authority.renew(t));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const held = hook ? gate.waiting.length : store.waiting.length;
  const grown = wasm.memory.buffer.byteLength - before;
  store.release();
  gate.on = false;
  for (const r of gate.waiting.splice(0)) r();
  const outcomes = await Promise.all(pending);
  const renewed = outcomes.filter((o) => o.outcome === "renewed").length;
  console.log(`${label}: ${held} pending, wasm memory +${(grown / 1048576).toFixed(1)} MiB = ${Math.round(grown / N)} bytes per pending renewal (${renewed} renewed after release)`);
  authority.free();
  return grown / N;
}

if (MODE === "store") await measure("waiting on the store's first read", { hook: false });
else await measure("waiting on the claims hook", { hook: true });
