// Memory flatness, run by bench.mjs in its own process:
//   node --expose-gc bench/memory-child.mjs [verifies=1000000] [renewals=100000]
// Warms up, then runs the verifies and the renewals (10 sessions renewed round-robin, so the
// store holds the same number of records throughout), sampling process.memoryUsage() and the
// wasm linear memory size after a forced gc. Prints one JSON object.
// The unbundled entry (same code as dist/node.js): it shares the glue module, and with it the wasm
// instance whose linear memory is sampled below.
import { Authority, Verifier, MemoryStore, generateSigningKey } from "../src/node.js";
import { initSync } from "../wasm/webgates_sessions_wasm.js";

if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
const verifies = Number(process.argv[2] ?? 1_000_000);
const renewals = Number(process.argv[3] ?? 100_000);
const wasm = initSync(); // already initialised by node.js: returns the instance's exports
const ISS = "https://auth.example";
const AUD = "api.example";

const store = new MemoryStore();
const authority = new Authority({ issuer: ISS, audience: AUD, signingKeys: [generateSigningKey()], store });
const verifier = new Verifier({ issuer: ISS, audience: AUD, jwks: authority.jwks() });
const tokens = [];
for (let i = 0; i < 64; i++) tokens.push((await authority.issue({ subject: `user-${i}` })).accessToken);
const chains = [];
for (let i = 0; i < 10; i++) chains.push((await authority.issue({ subject: `chain-${i}` })).refreshToken);

function sample(phase, done) {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return {
    phase,
    done,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    wasmMemory: wasm.memory.buffer.byteLength,
    storeKeys: store.size,
  };
}

let sink = 0;
function verifyN(n, from) {
  for (let i = 0; i < n; i++) sink += verifier.verify(tokens[(from + i) & 63]).exp;
}
async function renewN(n, from) {
  for (let i = 0; i < n; i++) {
    const k = (from + i) % chains.length;
    const r = await authority.renew(chains[k]);
    if (r.outcome !== "renewed") throw new Error(`renewal ${from + i}: ${r.outcome}`);
    chains[k] = r.refreshToken;
  }
}

// Warm-up: JIT, wasm tiering, allocator growth to its working size.
verifyN(20_000, 0);
await renewN(2_000, 0);
const samples = [sample("warm", 0)];

const t0 = performance.now();
const vStep = Math.max(1, Math.floor(verifies / 10));
for (let done = 0; done < verifies; ) {
  const n = Math.min(vStep, verifies - done);
  verifyN(n, done);
  done += n;
  samples.push(sample("verify", done));
}
const t1 = performance.now();
const rStep = Math.max(1, Math.floor(renewals / 10));
for (let done = 0; done < renewals; ) {
  const n = Math.min(rStep, renewals - done);
  await renewN(n, done);
  done += n;
  samples.push(sample("renew", done));
}
const t2 = performance.now();

process.stdout.write(
  JSON.stringify({ verifies, renewals, verifySeconds: (t1 - t0) / 1000, renewSeconds: (t2 - t1) / 1000, samples, sink: sink > 0 }) + "\n",
);
